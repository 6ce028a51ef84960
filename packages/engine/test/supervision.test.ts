import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PartitionEngine, type FaultHook } from "../src/index.js";
import { commandLog, marketCmd } from "./support/commands.js";

const base = { partition: 1, terminalOrdersMax: 1000, idempotencyMax: 1000, checkpointCommandsMax: 7 };

/** A hook that throws `times` times for one cmdId, in the given phase. */
function poison(cmdId: string, times: number, phase: "before" | "after"): { hook: FaultHook; calls: () => number } {
  let calls = 0;
  return {
    hook: (p, id, attempt) => {
      if (p !== phase || id !== cmdId) return;
      calls++;
      if (attempt <= times) throw new Error(`injected fault in ${cmdId}`);
    },
    calls: () => calls,
  };
}

test("a handler that throws after mutating is rolled back and retried: same events as a clean run", () => {
  fc.assert(
    fc.property(commandLog(5, 60), fc.nat(), fc.integer({ min: 1, max: 2 }), (log, pick, times) => {
      const victim = log[2 + (pick % (log.length - 2))]!;
      const clean = new PartitionEngine(base);
      const p = poison(victim.cmd.cmdId, times, "after");
      const faulty = new PartitionEngine({ ...base, faultHook: p.hook });
      for (const s of log) {
        assert.equal(faulty.apply(s.cmd, s.inSeq, s.ts), clean.apply(s.cmd, s.inSeq, s.ts));
      }
      assert.equal(Buffer.from(faulty.snapshot()), Buffer.from(clean.snapshot()));
      assert.is(faulty.drainDeadLetters().length, 0);
    }),
    { numRuns: 300 },
  );
});

test("after K failures the command is rejected internal_error, dead-lettered and alerted; state is as if it never ran", () => {
  fc.assert(
    fc.property(commandLog(5, 60), fc.nat(), fc.constantFrom("before", "after") as fc.Arbitrary<"before" | "after">, (log, pick, phase) => {
      const i = 2 + (pick % (log.length - 2));
      const victim = log[i]!;
      fc.pre(log.filter((s) => s.cmd.cmdId === victim.cmd.cmdId).length === 1);
      const p = poison(victim.cmd.cmdId, Number.MAX_SAFE_INTEGER, phase);
      const faulty = new PartitionEngine({ ...base, faultHook: p.hook });
      const control = new PartitionEngine(base);
      for (const s of log) {
        const got = faulty.apply(s.cmd, s.inSeq, s.ts);
        if (s !== victim) {
          assert.equal(got, control.apply(s.cmd, s.inSeq, s.ts));
          continue;
        }
        const market = "market" in s.cmd && typeof s.cmd.market === "string" ? s.cmd.market : "";
        const orderId = "orderId" in s.cmd ? s.cmd.orderId : 0;
        const want = control.reject(s.inSeq, s.ts, {
          cmdId: s.cmd.cmdId, account: s.cmd.account, market, orderId, code: "internal_error",
          message: `command failed 3 times: injected fault in ${s.cmd.cmdId}`,
        });
        assert.equal(got, want);
        const dl = faulty.drainDeadLetters();
        assert.is(dl.length, 1);
        assert.is(dl[0]!.command, s.cmd);
        assert.is(dl[0]!.attempts, 3);
        assert.match(dl[0]!.error.stack, /injected fault/);
        assert.is(faulty.drainAlerts().length, 1);
      }
      assert.equal(Buffer.from(faulty.snapshot()), Buffer.from(control.snapshot()));
    }),
    { numRuns: 300 },
  );
});

test("the partition keeps serving after a poison command", () => {
  const p = poison("bad", Number.MAX_SAFE_INTEGER, "after");
  const e = new PartitionEngine({ partition: 0, faultHook: p.hook });
  e.apply(marketCmd("M", "m"), 1, 1);
  const bad = e.apply({ kind: "place", cmdId: "bad", account: "a", market: "M", side: "buy", type: "limit", price: 1000, qty: 2, tif: "GTC" }, 2, 2);
  assert.is(bad[0]!.type, "rejected");
  assert.is((bad[0] as { code: string }).code, "internal_error");
  assert.is(p.calls(), 3);
  const ok = e.apply({ kind: "place", cmdId: "good", account: "a", market: "M", side: "buy", type: "limit", price: 1000, qty: 2, tif: "GTC" }, 3, 3);
  assert.is(ok[0]!.type, "accepted");
  const again = e.apply({ kind: "place", cmdId: "bad", account: "a", market: "M", side: "buy", type: "limit", price: 1000, qty: 2, tif: "GTC" }, 4, 4);
  assert.is(again[0]!.type, "duplicate", "a redelivered poison command is not retried");
  assert.is(e.restingOrders, 1);
});

test("commands out of log order are refused with a typed error", () => {
  const e = new PartitionEngine({ partition: 0 });
  e.apply(marketCmd("M", "m"), 5, 1);
  assert.throws(() => e.apply({ kind: "tick", cmdId: "t", account: "admin" }, 5, 2), (err: Error) => err.name === "SequenceError");
  assert.throws(() => e.apply({ kind: "tick", cmdId: "t", account: "admin" }, 4, 2), (err: Error) => err.name === "SequenceError");
});

test.run();
