/**
 * The CI-sized simulation: 3 real nodes on a real nats-server, 30 s of load,
 * a seeded schedule with 3 kill -9s, a SIGSTOP and a graceful restart; every
 * invariant must hold. (The schedule's content is pinned by fault-schedule.test.ts.)
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runSimCli } from "./support.js";

test("30 s under kill -9, SIGSTOP and SIGTERM: nothing lost, nothing applied twice, every check passes", async () => {
  const { code, summary: s, stderr } = await runSimCli([
    "--nodes", "3", "--duration", "30", "--seed", "38", "--mtbf", "10", "--mttr", "2", "--fault-mix", "kill=0.6,pause=0.2,restart=0.2",
  ]);
  const why = `\n${s.violations.join("\n")}\n${stderr.slice(-2000)}\nreproduce: ${s.reproduce}`;
  assert.is(s.invariant_violations, 0, `violations:${why}`);
  assert.is(code, 0, why);
  assert.ok(s.passed);
  assert.is(s.lost, 0);
  assert.is(s.duplicated_trades, 0);
  assert.ok((s.faults_by_kind["kill"] ?? 0) >= 3, `kills: ${JSON.stringify(s.faults_by_kind)}`);
  assert.ok((s.faults_by_kind["pause"] ?? 0) >= 1, `pauses: ${JSON.stringify(s.faults_by_kind)}`);
  assert.ok(s.failovers >= 3, `failovers ${s.failovers}`);
  assert.ok(s.commands_acked > 3_000, `acked ${s.commands_acked}`);
  assert.ok(s.resends > 0, "the workload repeats some commands under new message ids");
  assert.ok(s.availability_measured > 0 && s.availability_measured <= 1);
  for (const f of ["seed", "duration_s", "commands_acked", "lost", "duplicated_trades", "invariant_violations", "failovers", "recovery_ms_p50", "recovery_ms_p99", "recovery_ms_max", "throughput_cmd_s", "latency_ms_p50", "latency_ms_p99", "availability_measured", "availability_predicted"]) {
    assert.type((s as unknown as Record<string, unknown>)[f], "number", f);
  }
});

test.run();
