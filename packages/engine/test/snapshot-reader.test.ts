/**
 * Snapshots decoded straight from their bytes (MsgpackReader), whole or in slices: the
 * same state as unpacking the document and rebuilding it; other key orders still read;
 * damaged bytes are a SnapshotError, never another failure.
 */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PartitionEngine, SnapshotError, decodeSnapshot, encodeSnapshot, snapshotMeta } from "../src/index.js";
import { decodeSnapshotInSlices, rebuild, type SnapshotDoc } from "../src/snapshot.js";
import { commandLog } from "./support/commands.js";

const opts = { partition: 5, terminalOrdersMax: 30, idempotencyMax: 45 };
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

function snapshotOf(log: { cmd: Parameters<PartitionEngine["apply"]>[0]; inSeq: number; ts: number }[]): Uint8Array {
  const e = new PartitionEngine(opts);
  for (const s of log) e.apply(s.cmd, s.inSeq, s.ts);
  return e.snapshot();
}

function decodeSliced(bytes: Uint8Array, slice: number): { state: ReturnType<typeof decodeSnapshot>; yields: number } {
  const steps = decodeSnapshotInSlices(bytes, opts.terminalOrdersMax, opts.idempotencyMax, slice);
  let yields = 0;
  for (;;) {
    const r = steps.next();
    if (r.done === true) return { state: r.value, yields };
    yields++;
  }
}

test("decoded from the bytes, whole or in slices of any size: the state unpacking and rebuilding gives", () => {
  fc.assert(
    fc.property(commandLog(1, 80), fc.integer({ min: 1, max: 30 }), (log, slice) => {
      const bytes = snapshotOf(log);
      const viaDoc = rebuild(packr.unpack(bytes) as SnapshotDoc, opts.terminalOrdersMax, opts.idempotencyMax);
      const whole = decodeSnapshot(bytes, opts.terminalOrdersMax, opts.idempotencyMax);
      const { state, yields } = decodeSliced(bytes, slice);
      const expected = Buffer.from(encodeSnapshot(viaDoc));
      assert.ok(expected.equals(Buffer.from(bytes)), "the document path reproduces the bytes");
      assert.ok(Buffer.from(encodeSnapshot(whole)).equals(expected), "whole");
      assert.ok(Buffer.from(encodeSnapshot(state)).equals(expected), `in slices of ${slice}`);
      const units = state.restingOrders + state.terminal.size + state.byCmd.finished;
      assert.ok(yields >= Math.floor(units / slice) - 1, `${yields} yields for ${units} units`);
    }),
    { numRuns: 300 },
  );
});

test("a snapshot whose entries come in another order is still read (unpacked whole)", () => {
  const log = fc.sample(commandLog(40, 40), { seed: 11, numRuns: 1 })[0]!;
  const bytes = snapshotOf(log);
  const doc = packr.unpack(bytes) as SnapshotDoc;
  const { seen, terminal, accounts, markets, ...head } = doc;
  const reordered = packr.pack({ seen, terminal, accounts, markets, ...head });
  const state = decodeSnapshot(reordered, opts.terminalOrdersMax, opts.idempotencyMax);
  assert.ok(Buffer.from(encodeSnapshot(state)).equals(Buffer.from(bytes)));
  assert.equal(snapshotMeta(reordered), snapshotMeta(bytes));
  assert.equal(snapshotMeta(bytes), { partition: doc.partition, seq: doc.seq, lastInSeq: doc.lastInSeq });
});

test("every truncation, and any damaged byte, is a SnapshotError or a state, never another failure", () => {
  const log = fc.sample(commandLog(30, 30), { seed: 12, numRuns: 1 })[0]!;
  const bytes = snapshotOf(log);
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => decodeSnapshot(bytes.subarray(0, n), opts.terminalOrdersMax, opts.idempotencyMax), (e: Error) => e instanceof SnapshotError, `truncated to ${n}`);
  }
  assert.throws(() => decodeSnapshot(Uint8Array.from([...bytes, 0]), opts.terminalOrdersMax, opts.idempotencyMax), /bytes after the snapshot/);
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (at, v) => {
      const damaged = Uint8Array.from(bytes);
      damaged[at] = v;
      try {
        decodeSnapshot(damaged, opts.terminalOrdersMax, opts.idempotencyMax);
      } catch (e) {
        assert.instance(e, SnapshotError, `byte ${at} = ${v}: ${(e as Error).message}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test("an array announcing more values than there are bytes fails at once", () => {
  const huge = Uint8Array.from([0xde, 0x00, 0x0a, 0xa1, 0x76, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => decodeSnapshot(huge, 10, 10), (e: Error) => e instanceof SnapshotError);
});

test("without Node's Buffer (the engine's other runtimes) snapshots still encode and decode to the same bytes", () => {
  const index = new URL("../src/index.js", import.meta.url).href;
  const script = `
    delete globalThis.Buffer;
    const { PartitionEngine } = await import(${JSON.stringify(index)});
    const e = new PartitionEngine({ partition: 1 });
    e.apply({ kind: "market", cmdId: "m-ü", account: "admin", symbol: "SKU-Ü", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 100, refPrice: 100, bandBps: 5000, state: "open" }, 1, 1);
    let seq = 1;
    for (const a of ["zoë-🙂", "日本語", "plain", "x".repeat(40)]) e.apply({ kind: "place", cmdId: a + "-c", account: a, market: "SKU-Ü", side: "buy", type: "limit", tif: "GTC", price: 90, qty: 1 }, ++seq, 1);
    const bytes = e.snapshot();
    const again = PartitionEngine.restore(bytes, { partition: 1 }).snapshot();
    const same = bytes.length === again.length && bytes.every((v, i) => v === again[i]);
    console.log(JSON.stringify({ same, resting: e.restingOrders, buffer: typeof globalThis.Buffer }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim()), { same: true, resting: 4, buffer: "undefined" });
});

test.run();
