import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { DEFAULT_MIX, faultSchedule, nodeUpFraction, partitionAvailability, type FaultModel } from "../src/fault-schedule.js";

const model = (o: Partial<FaultModel> = {}): FaultModel => ({ nodes: 3, mtbfS: 10, mttrS: 2, mix: DEFAULT_MIX, natsServers: 0, natsMtbfS: 0, ...o });

test("one seed gives one schedule; another seed another", () => {
  assert.equal(faultSchedule(7, model(), 60_000), faultSchedule(7, model(), 60_000));
  assert.not.equal(faultSchedule(7, model(), 60_000), faultSchedule(8, model(), 60_000));
});

test("a longer run only adds faults at the end: the prefix is the same", () => {
  const short = faultSchedule(38, model(), 20_000);
  assert.equal(faultSchedule(38, model(), 40_000).slice(0, short.length), short);
});

test("the CI run's schedule (seed 38, mtbf 10, mttr 2, kill=0.6,pause=0.2,restart=0.2, 30 s) has 3 kills and a pause", () => {
  const s = faultSchedule(38, model({ mix: { kill: 0.6, pause: 0.2, restart: 0.2 } }), 30_000);
  assert.is(s.filter((f) => f.fault === "kill").length, 3);
  assert.ok(s.some((f) => f.fault === "pause"));
});

test("property: faults are ordered, within the run, and one target is never hit while it is down", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0.5, max: 30, noNaN: true }), fc.double({ min: 0.05, max: 10, noNaN: true }), (seed, nodes, mtbfS, mttrS) => {
      const s = faultSchedule(seed, model({ nodes, mtbfS, mttrS, natsServers: 3, natsMtbfS: mtbfS }), 60_000);
      const upAt = new Map<string, number>();
      let natsUpAt = 0;
      for (let i = 0; i < s.length; i++) {
        const f = s[i]!;
        if (i > 0) assert.ok(s[i - 1]!.at <= f.at, "ordered");
        assert.ok(f.at >= 0 && f.at < 60_000, "within the run");
        const key = `${f.target}-${f.index}`;
        assert.ok(f.at >= (upAt.get(key) ?? 0), `${key} hit while down`);
        upAt.set(key, f.at + f.downMs);
        if (f.target === "nats") {
          assert.ok(f.at >= natsUpAt, "two NATS servers down at once");
          natsUpAt = f.at + f.downMs;
        }
      }
    }),
    { numRuns: 300 },
  );
});

test("the chain's holding times have the configured means (long horizon)", () => {
  const s = faultSchedule(1, model({ nodes: 1, mtbfS: 5, mttrS: 1 }), 20_000_000);
  const meanDown = s.reduce((a, f) => a + f.downMs, 0) / s.length;
  assert.ok(Math.abs(meanDown - 1_000) < 50, `mean down ${meanDown} ms`);
  const upTime = 20_000_000 - s.reduce((a, f) => a + f.downMs, 0);
  const meanUp = upTime / s.length;
  assert.ok(Math.abs(meanUp - 5_000) < 250, `mean up ${meanUp} ms`);
  assert.ok(Math.abs(upTime / 20_000_000 - nodeUpFraction({ mtbfS: 5, mttrS: 1 })) < 0.01);
});

test("the mix picks only the fault kinds it weighs", () => {
  const s = faultSchedule(3, model({ mix: { kill: 0, pause: 1, restart: 0 } }), 120_000);
  assert.ok(s.length > 10);
  assert.ok(s.every((f) => f.fault === "pause"));
});

test("no faults without an mtbf; availability formulas", () => {
  assert.equal(faultSchedule(1, model({ mtbfS: 0 }), 60_000), []);
  assert.is(nodeUpFraction({ mtbfS: 0, mttrS: 3 }), 1);
  assert.is(nodeUpFraction({ mtbfS: 15, mttrS: 3 }), 15 / 18);
  assert.is(partitionAvailability(10, 1_000), 1 / 1.1);
  assert.is(partitionAvailability(0, 1_000), 1);
});

test.run();
