/**
 * Snapshots decoded straight from their bytes (MsgpackReader), whole or in slices: the
 * same state as unpacking the document and rebuilding it; other key orders still read;
 * damaged bytes are a SnapshotError, never another failure.
 */
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
      const units = state.orders.size + state.terminal.size + state.byCmd.finished;
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

test.run();
