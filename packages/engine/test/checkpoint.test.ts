import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Checkpoint } from "../src/checkpoint.js";
import { PartitionEngine, decodeSnapshot, encodeSnapshot } from "../src/index.js";
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

test.run();
