import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PartitionEngine, decodeSnapshot, encodeSnapshot } from "../src/index.js";
import { packSnapshotDocument, snapshotDocument } from "../src/snapshot.js";
import { commandLog, marketCmd } from "./support/commands.js";

const opts = { partition: 2, terminalOrdersMax: 30, idempotencyMax: 45 };

/** encodeSnapshot writes piece by piece; its bytes must be exactly msgpackr's for the whole document. */
function sameAsDocument(bytes: Uint8Array): void {
  const state = decodeSnapshot(bytes, opts.terminalOrdersMax, opts.idempotencyMax);
  const whole = packSnapshotDocument(snapshotDocument(state));
  assert.ok(Buffer.from(encodeSnapshot(state)).equals(Buffer.from(whole)), "streamed = packed whole");
  assert.ok(Buffer.from(bytes).equals(Buffer.from(whole)), "the engine's snapshot = packed whole");
}

test("the streamed snapshot is byte-identical to packing the snapshot document, for any state", () => {
  fc.assert(
    fc.property(commandLog(1, 80), (log) => {
      const e = new PartitionEngine(opts);
      for (const s of log) e.apply(s.cmd, s.inSeq, s.ts);
      sameAsDocument(e.snapshot());
    }),
    { numRuns: 500 },
  );
});

test("the same bytes whatever the size hint (too small: the buffer grows; far too big: an exact copy; close: a view)", () => {
  fc.assert(
    fc.property(commandLog(1, 60), fc.integer({ min: 1, max: 4 }), (log, snapshots) => {
      const e = new PartitionEngine(opts);
      log.forEach((s, i) => {
        e.apply(s.cmd, s.inSeq, s.ts);
        // Several snapshots: the later ones are sized from the earlier ones.
        if (i % Math.ceil(log.length / snapshots) === 0) e.snapshot();
      });
      const state = decodeSnapshot(e.snapshot(), opts.terminalOrdersMax, opts.idempotencyMax);
      const plain = Buffer.from(encodeSnapshot(state));
      for (const hint of [1, 17, plain.length, plain.length + 3, 8 * plain.length]) {
        const b = encodeSnapshot(state, hint);
        assert.ok(Buffer.from(b).equals(plain), `hint ${hint}`);
        assert.ok(b.buffer.byteLength - b.length <= Math.max(b.buffer.byteLength >>> 3, 0) || b.buffer.byteLength === b.length, "at most an eighth unused");
      }
    }),
    { numRuns: 200 },
  );
});

test("container headers of every size: 70,000 orders on one level, 20 accounts, 17 markets", () => {
  const e = new PartitionEngine({ ...opts, idempotencyMax: 100_000 });
  let inSeq = 0;
  for (let m = 0; m < 17; m++) e.apply(marketCmd(`SKU-${m}`, `m-${m}`), ++inSeq, 1);
  for (let i = 0; i < 70_000; i++) {
    const account = `account-number-${i % 20}`;
    e.apply({ kind: "place", cmdId: `a-long-command-id-${i}`, account, market: "SKU-0", side: "buy", type: "limit", tif: "GTC", price: 1000, qty: 2 }, ++inSeq, 1);
  }
  const bytes = e.snapshot();
  assert.is(e.restingOrders, 70_000);
  sameAsDocument(bytes);
});

test.run();
