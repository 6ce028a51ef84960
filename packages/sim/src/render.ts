/** The human-readable end-of-run report of `bourse sim`. */
import type { SimOutcome } from "./run-sim.js";
import type { SimSummary } from "./summary.js";

const INVARIANTS = [
  "every acknowledged command has exactly one outcome",
  "no trade reported twice; reports agree with the durable output",
  "bought = sold per market; no order fills beyond its quantity",
  "each partition's state = the reference model's replay of its log",
  "output sequences have no gap and no duplicate",
];

export function renderReport(s: SimSummary, o: SimOutcome): string {
  const lines: string[] = [];
  const c = o.config;
  lines.push(`bourse sim — seed ${s.seed}: ${s.passed ? "PASSED" : "FAILED"}`);
  lines.push(`  ${c.nodes} nodes, ${c.partitions} partitions, ${c.natsServers === 3 ? "3-server NATS cluster" : "1 NATS server"}, ${c.publishers} publishers, ${c.markets} markets, ${c.rate} cmd/s target`);
  lines.push("");
  lines.push("Load");
  lines.push(`  ${s.duration_s} s, ${s.commands_sent} publishes, ${s.commands_acked} acknowledged (${s.resends} deliberate resends), ${s.commands_unacked} never acknowledged`);
  lines.push(`  throughput ${s.throughput_cmd_s} cmd/s; publish-to-report latency p50 ${s.latency_ms_p50} ms, p99 ${s.latency_ms_p99} ms, max ${s.latency_ms_max} ms`);
  lines.push(`  ${o.commandsLogged} commands in the log, ${o.eventsDurable} durable events, ${s.trades} trades, ${s.reports_received} report messages received`);
  lines.push("");
  lines.push("Faults");
  lines.push(`  ${s.faults} injected: ${Object.entries(s.faults_by_kind).map(([k, n]) => `${n} ${k}`).join(", ") || "none"} (${o.schedule.length} scheduled)`);
  for (const f of o.faults) {
    const t = ((f.at - o.loadStartedAt) / 1000).toFixed(1);
    const err = f.error !== undefined ? `  ERROR: ${f.error}` : "";
    lines.push(`    +${t.padStart(5)} s  ${f.fault.fault.padEnd(7)} ${f.target.padEnd(11)} down ${String(f.fault.downMs).padStart(5)} ms  partitions [${f.partitions.join(",")}]${err}`);
  }
  lines.push(`  failovers ${s.failovers}: recovery p50 ${s.recovery_ms_p50} ms, p99 ${s.recovery_ms_p99} ms, max ${s.recovery_ms_max} ms`);
  lines.push(`  handoffs ${s.handoffs} (successor serving p99 ${s.handoff_ms_p99} ms after the stop; the old owner serves until then); resumed in place after a pause: ${s.resumed_in_place}`);
  lines.push(`  availability measured ${pct(s.availability_measured)} (${o.probes} probes); predicted by the fault model ${pct(s.availability_predicted)}; node up-time predicted ${pct(s.node_up_predicted)}`);
  lines.push("");
  lines.push("Checks");
  INVARIANTS.forEach((text, i) => {
    const n = Object.entries(s.violations_by_invariant).filter(([k]) => k.startsWith(`${i + 1}_`)).reduce((a, [, v]) => a + v, 0);
    lines.push(`  ${n === 0 ? "ok  " : "FAIL"} ${i + 1}. ${text}${n > 0 ? ` — ${n} violation${n > 1 ? "s" : ""}` : ""}`);
  });
  if (s.violations.length > 0) {
    lines.push("");
    lines.push(`Violations (${s.invariant_violations}; the first of each kind and partition)`);
    for (const v of s.violations) lines.push(`  ${v}`);
  }
  lines.push("");
  if (!s.passed) lines.push(`Reproduce: ${s.reproduce}`);
  if (s.work_dir !== null) lines.push(`Node logs: ${s.work_dir}`);
  return lines.join("\n") + "\n";
}

function pct(x: number): string {
  return `${(x * 100).toFixed(3)}%`;
}
