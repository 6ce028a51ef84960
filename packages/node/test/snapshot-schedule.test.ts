import { test } from "uvu";
import * as assert from "uvu/assert";
import { AGE_INTERVALS_MAX, LOG_STRETCH_MAX, QUIET_SNAPSHOT_COMMANDS, REPLAY_COMMANDS_MAX, UNITS_PER_REPLAYED_COMMAND, quietSnapshotWorth, timedSnapshotDue, timedSnapshotWorth } from "../src/partition/snapshot-schedule.js";

const INTERVAL = 5_000;
const P = 64;

test("a snapshot falls due in the partition's own slot, between half and one and a half intervals later", () => {
  for (const after of [0, 1, 1_234_567.5, 1_700_000_000_000, 1_700_000_003_333]) {
    for (let p = 0; p < P; p++) {
      const due = timedSnapshotDue(p, P, INTERVAL, after);
      assert.ok(due >= after + INTERVAL / 2 && due < after + 1.5 * INTERVAL, `p ${p} after ${after}: ${due}`);
      const phase = (((due % INTERVAL) + INTERVAL) % INTERVAL);
      assert.ok(Math.abs(phase - Math.floor((p * INTERVAL) / P)) < 1e-6, `p ${p}: phase ${phase}`);
    }
  }
});

test("partitions that snapshotted at the same moment fall due spread over the interval", () => {
  const now = 1_700_000_000_123;
  const dues = Array.from({ length: P }, (_, p) => timedSnapshotDue(p, P, INTERVAL, now)).sort((a, b) => a - b);
  const gaps = dues.slice(1).map((d, i) => d - dues[i]!);
  assert.ok(Math.max(...gaps) <= INTERVAL / P + 1, `largest gap ${Math.max(...gaps)} ms`);
  assert.ok(dues[P - 1]! - dues[0]! < INTERVAL, "all within one interval");
});

test("one partition, or partitions past the count, still get valid times", () => {
  assert.is(timedSnapshotDue(0, 1, INTERVAL, 0), INTERVAL);
  const due = timedSnapshotDue(3, 0, INTERVAL, 100);
  assert.ok(due >= 100 + INTERVAL / 2 && due < 100 + 1.5 * INTERVAL);
});

const quiet = { commandsSince: 5, units: 100_000, logStretch: 300, ageMs: INTERVAL, intervalMs: INTERVAL };

test("a slot's snapshot is skipped while the commands since the last are few against the state's size", () => {
  assert.is(timedSnapshotWorth(quiet), false, "5 commands on 100,000 units");
  assert.is(timedSnapshotWorth({ ...quiet, commandsSince: 0, units: 0 }), false, "nothing applied: never");
  assert.is(timedSnapshotWorth({ ...quiet, units: 5 * UNITS_PER_REPLAYED_COMMAND }), true, "a small state: worth it");
  assert.is(timedSnapshotWorth({ ...quiet, units: 5 * UNITS_PER_REPLAYED_COMMAND + 1 }), false);
});

test("but never more than REPLAY_COMMANDS_MAX commands, LOG_STRETCH_MAX of log or AGE_INTERVALS_MAX intervals behind", () => {
  assert.is(timedSnapshotWorth({ ...quiet, commandsSince: REPLAY_COMMANDS_MAX - 1 }), false);
  assert.is(timedSnapshotWorth({ ...quiet, commandsSince: REPLAY_COMMANDS_MAX }), true);
  assert.is(timedSnapshotWorth({ ...quiet, logStretch: LOG_STRETCH_MAX - 1 }), false);
  assert.is(timedSnapshotWorth({ ...quiet, logStretch: LOG_STRETCH_MAX }), true);
  assert.is(timedSnapshotWorth({ ...quiet, ageMs: AGE_INTERVALS_MAX * INTERVAL - 1 }), false);
  assert.is(timedSnapshotWorth({ ...quiet, ageMs: AGE_INTERVALS_MAX * INTERVAL }), true);
});

test("a quiet partition snapshots with QUIET_SNAPSHOT_COMMANDS commands, or fewer over LOG_STRETCH_MAX of log", () => {
  assert.is(quietSnapshotWorth(QUIET_SNAPSHOT_COMMANDS - 1, 10), false);
  assert.is(quietSnapshotWorth(QUIET_SNAPSHOT_COMMANDS, 10), true);
  assert.is(quietSnapshotWorth(1, LOG_STRETCH_MAX - 1), false);
  assert.is(quietSnapshotWorth(1, LOG_STRETCH_MAX), true);
  assert.is(quietSnapshotWorth(0, 10 * LOG_STRETCH_MAX), false, "nothing applied: nothing to snapshot");
});

test.run();
