import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PartitionEngine, type EngineEvent } from "../src/index.js";
import { commandLog, type Step } from "./support/commands.js";

const opts = { partition: 3, terminalOrdersMax: 40, idempotencyMax: 60 };

function run(engine: PartitionEngine, steps: Step[]): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (const s of steps) out.push(...engine.apply(s.cmd, s.inSeq, s.ts));
  return out;
}

test("restore(snapshot at k) + replay(k..n) equals a straight run, byte for byte", () => {
  fc.assert(
    fc.property(commandLog(1, 80), fc.nat(), (log, cut) => {
      const k = cut % (log.length + 1);
      const straight = new PartitionEngine(opts);
      const all = run(straight, log);

      const first = new PartitionEngine(opts);
      const head = run(first, log.slice(0, k));
      const bytes = first.snapshot();
      const restored = PartitionEngine.restore(bytes, opts);
      assert.equal(Buffer.from(restored.snapshot()), Buffer.from(bytes), "snapshot of a restored engine is identical");
      const tail = run(restored, log.slice(k));

      assert.equal([...head, ...tail], all, "events");
      assert.equal(Buffer.from(restored.snapshot()), Buffer.from(straight.snapshot()), "state");
      assert.is(restored.lastInSeq, straight.lastInSeq);
      assert.is(restored.lastSeq, all.length);
      restored.check();
    }),
    { numRuns: 1500 },
  );
});

test("output sequences are gap-free and carry their input sequence", () => {
  fc.assert(
    fc.property(commandLog(1, 60), (log) => {
      const e = new PartitionEngine(opts);
      let seq = 0;
      for (const s of log) {
        for (const ev of e.apply(s.cmd, s.inSeq, s.ts)) {
          assert.is(ev.seq, ++seq);
          assert.is(ev.inSeq, s.inSeq);
          assert.is(ev.partition, 3);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
