import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Checkpoint } from "../src/checkpoint.js";
import { PartitionCorruptedError, PartitionEngine, decodeSnapshot, encodeSnapshot } from "../src/index.js";
import { commandLog } from "./support/commands.js";

const opts = { partition: 4, terminalOrdersMax: 30, idempotencyMax: 45 };

test("a checkpoint restores exactly the state it was taken of, however that state changes later", () => {
  fc.assert(
    fc.property(commandLog(1, 80), fc.nat(), (log, cut) => {
      const k = cut % (log.length + 1);
      const first = new PartitionEngine(opts);
      for (const s of log.slice(0, k)) first.apply(s.cmd, s.inSeq, s.ts);
      const bytes = first.snapshot();

      const state = decodeSnapshot(bytes, opts.terminalOrdersMax, opts.idempotencyMax);
      const cp = new Checkpoint(state);
      const later = new PartitionEngine(opts, state);
      for (const s of log.slice(k)) later.apply(s.cmd, s.inSeq, s.ts);

      const restored = cp.restore(opts.terminalOrdersMax, opts.idempotencyMax);
      assert.equal(Buffer.from(encodeSnapshot(restored)), Buffer.from(bytes));
      const again = cp.restore(opts.terminalOrdersMax, opts.idempotencyMax);
      assert.equal(Buffer.from(encodeSnapshot(again)), Buffer.from(bytes), "restoring leaves the checkpoint intact");
    }),
    { numRuns: 1000 },
  );
});

test("an engine rolls back to its own checkpoints: the same events as a run that never checkpoints", () => {
  fc.assert(
    fc.property(commandLog(5, 80), fc.integer({ min: 1, max: 9 }), (log, every) => {
      let failures = 0;
      const hook = (phase: "before" | "after", _id: string, attempt: number) => {
        if (phase === "after" && attempt === 1 && ++failures % 4 === 0) throw new Error("injected");
      };
      const often = new PartitionEngine({ ...opts, checkpointCommandsMax: every, faultHook: hook });
      const never = new PartitionEngine({ ...opts, checkpointCommandsMax: 1e9 });
      for (const s of log) assert.equal(often.apply(s.cmd, s.inSeq, s.ts), never.apply(s.cmd, s.inSeq, s.ts));
      assert.equal(Buffer.from(often.snapshot()), Buffer.from(never.snapshot()));
    }),
    { numRuns: 300 },
  );
});

test("a spilled rollback point is read back by a failing command: the same events as an engine that keeps it", () => {
  fc.assert(
    fc.property(commandLog(5, 80), fc.integer({ min: 1, max: 9 }), (log, every) => {
      let failures = 0;
      const hook = (phase: "before" | "after", _id: string, attempt: number) => {
        if (phase === "after" && attempt === 1 && ++failures % 3 === 0) throw new Error("injected");
      };
      const spilling = new PartitionEngine({ ...opts, checkpointCommandsMax: 1e9, faultHook: hook });
      const keeping = new PartitionEngine({ ...opts, checkpointCommandsMax: 1e9 });
      let loads = 0;
      log.forEach((s, i) => {
        if (i % every === 0) {
          const kept = Uint8Array.from(spilling.snapshot());
          assert.ok(spilling.spillCheckpoint(spilling.snapshot(), () => (loads++, kept)));
          assert.is(spilling.checkpointKind, "spilled");
          keeping.snapshot();
        }
        assert.equal(spilling.apply(s.cmd, s.inSeq, s.ts), keeping.apply(s.cmd, s.inSeq, s.ts));
      });
      assert.ok(loads <= failures, "read back only by a rollback");
      assert.equal(Buffer.from(spilling.snapshot()), Buffer.from(keeping.snapshot()));
    }),
    { numRuns: 300 },
  );
});

test("spilling is refused once the bytes are no longer the checkpoint", () => {
  const e = new PartitionEngine(opts);
  const first = e.snapshot();
  e.snapshot();
  assert.not.ok(e.spillCheckpoint(first, () => first));
  assert.is(e.checkpointKind, "bytes");
});

test("a spilled rollback point that cannot be read back, or holds another state, fails the partition as corrupted", () => {
  const log = fc.sample(commandLog(10, 10), { seed: 7, numRuns: 1 })[0]!;
  const fresh = (): PartitionEngine => {
    const last = log[log.length - 1]!.cmd.cmdId;
    const hook = (phase: "before" | "after", id: string, attempt: number) => {
      if (phase === "after" && attempt === 1 && id === last) throw new Error("injected");
    };
    return new PartitionEngine({ ...opts, faultHook: hook, checkpointCommandsMax: 1e9 });
  };
  const run = (load: (bytes: Uint8Array, earlier: Uint8Array) => Uint8Array): unknown => {
    const e = fresh();
    for (const s of log.slice(0, 3)) e.apply(s.cmd, s.inSeq, s.ts);
    const earlier = Uint8Array.from(e.snapshot());
    const s3 = log[3]!;
    e.apply(s3.cmd, s3.inSeq, s3.ts);
    const bytes = e.snapshot();
    const kept = Uint8Array.from(bytes);
    e.spillCheckpoint(bytes, () => load(kept, earlier));
    try {
      for (const s of log.slice(4)) e.apply(s.cmd, s.inSeq, s.ts);
    } catch (err) {
      return err;
    }
    return undefined;
  };
  let loads = 0;
  assert.is(run((kept) => (loads++, kept)), undefined, "the last command is rolled back and retried");
  assert.is(loads, 1);
  const unreadable = run(() => {
    throw new Error("ENOENT");
  });
  assert.instance(unreadable, PartitionCorruptedError);
  assert.match((unreadable as Error).message, /spilled rollback point unreadable/);
  const truncated = run((kept) => kept.subarray(1));
  assert.instance(truncated, PartitionCorruptedError);
  const other = run((_kept, earlier) => earlier);
  assert.instance(other, PartitionCorruptedError);
  assert.match((other as Error).message, /spilled rollback point/);
});

test.run();
