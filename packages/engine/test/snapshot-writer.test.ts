import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PartitionEngine, SnapshotInProgressError, decodeSnapshot, encodeSnapshot } from "../src/index.js";
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

test("a snapshot taken in slices is the same bytes, whatever the slice size; commands wait until it returns", () => {
  fc.assert(
    fc.property(commandLog(1, 60), fc.integer({ min: 1, max: 40 }), (log, slice) => {
      const sliced = new PartitionEngine(opts);
      const whole = new PartitionEngine(opts);
      for (const s of log) {
        sliced.apply(s.cmd, s.inSeq, s.ts);
        whole.apply(s.cmd, s.inSeq, s.ts);
      }
      const steps = sliced.snapshotInSlices(slice);
      let r = steps.next();
      let yields = 0;
      while (r.done !== true) {
        yields++;
        assert.throws(() => sliced.apply({ kind: "cancel", cmdId: "during", account: "a", market: "SKU-A", orderId: 1 }, 1e9, 1e9), (e: Error) => e instanceof SnapshotInProgressError);
        assert.not.throws(() => sliced.query("SKU-A", 1), "queries are served between slices");
        r = steps.next();
      }
      assert.ok(Buffer.from(r.value).equals(Buffer.from(whole.snapshot())), "same bytes as snapshot()");
      const units = sliced.restingOrders;
      assert.ok(yields >= Math.floor(units / slice) - 1, `${yields} yields for ${units} resting orders in slices of ${slice}`);
    }),
    { numRuns: 200 },
  );
});

test("an abandoned sliced snapshot leaves the engine usable and its checkpoint unchanged", () => {
  const log = fc.sample(commandLog(30, 30), { seed: 3, numRuns: 1 })[0]!;
  const e = new PartitionEngine(opts);
  for (const s of log.slice(0, 20)) e.apply(s.cmd, s.inSeq, s.ts);
  const before = e.checkpointKind;
  const steps = e.snapshotInSlices(1);
  steps.next();
  steps.return(undefined as never);
  assert.is(e.checkpointKind, before);
  for (const s of log.slice(20)) e.apply(s.cmd, s.inSeq, s.ts);
  sameAsDocument(e.snapshot());
});

test("strings of every kind are written as msgpackr writes them: non-ASCII, emoji, a lone surrogate, 31/32/128 characters", () => {
  const e = new PartitionEngine({ ...opts, idempotencyMax: 1000 });
  let inSeq = 0;
  const market = "SKU-Ü";
  e.apply(marketCmd(market, "m-ü", { tickSize: 1, lotSize: 1, minQty: 1 }), ++inSeq, 1);
  const ids = ["zoë-🙂", "\ud800x", "a".repeat(31), "b".repeat(32), "c".repeat(255), "d".repeat(256), "é".repeat(40), "日本語"];
  for (const [i, s] of ids.entries()) {
    const cmdId = `${s}-${i}`.slice(0, 128);
    e.apply({ kind: "place", cmdId, account: s.slice(0, 64), market, side: i % 2 ? "buy" : "sell", type: "limit", tif: "GTC", price: 1000 + (i % 2 ? -i : i), qty: 1 }, ++inSeq, 1);
    e.apply({ kind: "cancel", cmdId: `cancel-${s}`.slice(0, 128), account: "nobody-ß", market, orderId: 999_999 }, ++inSeq, 1);
  }
  const bytes = e.snapshot();
  assert.is(e.restingOrders, ids.length);
  sameAsDocument(bytes);
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
