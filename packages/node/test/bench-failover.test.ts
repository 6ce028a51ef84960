/**
 * `bourse bench failover` smoke test: the real CLI as a child process, tiny (one
 * trial of each kind, 2,000 orders, 8 partitions), checking that it runs to the
 * end, cleans up, and prints the JSON contract. Not a timed test: no figure is
 * compared with a target.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runBourse } from "./support/cli.js";

const RUN_MS_TIMEOUT = 120_000;
const run = (args: string[]) => runBourse(["bench", "failover", ...args], RUN_MS_TIMEOUT);

const summaryKeys = ["n", "p50", "p99", "max"];

test("bench failover --json: one trial of each kind, every moved partition served again, the JSON fields", async () => {
  const r = await run(["--trials", "1", "--orders", "2000", "--partitions", "8", "--json"]);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines.length, 1, `exactly one JSON line on stdout:\n${r.stdout}`);
  const j = JSON.parse(lines[0]!) as Record<string, any>;
  for (const k of ["recovery_ms_p50", "recovery_ms_p99", "recovery_ms_max", "handoff_ms_p50", "handoff_ms_p99", "handoff_ms_max", "handoff_new_owner_ms_p50", "handoff_new_owner_ms_p99"]) {
    assert.type(j[k], "number", k);
    assert.ok(j[k] > 0, `${k} = ${j[k]}`);
  }
  assert.ok(j["recovery_ms_p50"] <= j["recovery_ms_p99"] && j["recovery_ms_p99"] <= j["recovery_ms_max"]);
  assert.is(j["trials"], 1);
  assert.is(j["handoff_trials"], 1);
  assert.is(j["partitions"], 8);
  assert.is(j["nodes"], 3);
  assert.is(j["orders_loaded"], 2000);
  assert.is(j["orders_resident"], 2000, "every loaded order rests in a book");
  // 8 partitions over 3 nodes: the victim owns 2 or 3.
  for (const k of ["partitions_moved_per_trial", "handoff_partitions_moved_per_trial"]) {
    assert.is(j[k].length, 1, k);
    assert.ok(j[k][0] >= 2 && j[k][0] <= 3, `${k}: ${j[k]}`);
  }
  for (const kind of ["failover", "handoff"]) {
    const f = j[kind];
    assert.is(f.unrecovered, 0, kind);
    assert.is(f.served_ms.n, f.partitions_moved_per_trial[0], `${kind}: a time for every moved partition`);
    assert.is(f.wait_ms.n, f.partitions_moved_per_trial[0], `${kind}: a wait for every moved partition`);
    assert.ok(f.wait_ms.max <= f.served_ms.max + 1, `${kind}: no probe waited longer than the move took`);
    for (const s of ["served_ms", "wait_ms", "query_ms", "command_ms", "node_serving_ms"]) assert.equal(Object.keys(f[s]).sort(), [...summaryKeys].sort(), `${kind}.${s}`);
    for (const phase of ["detection", "agreement", "lease", "lease_wait", "snapshot", "replay", "client"]) {
      assert.ok(f.breakdown_ms[phase].n > 0, `${kind}: breakdown ${phase} derived from the node logs`);
    }
    assert.is(f.per_trial.length, 1);
  }
  // Progress went to stderr and the cluster was stopped.
  assert.match(r.stderr, /failover 1\/1: kill -9 node-\d/);
  assert.match(r.stderr, /handoff 1\/1: SIGTERM node-\d/);
  assert.match(r.stderr, /stopping the cluster/);
});

test.run();
