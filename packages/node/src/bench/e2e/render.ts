/**
 * The readable report of `bourse bench e2e`: the parameters, the two rates and
 * their ratio against the target, the latency at half the maximum, every step
 * of the search, where the CPU went at the maximum, and the profile's top
 * functions when there is one.
 */
import { fmt } from "./format.js";
import { cpuText } from "../common/cpu.js";
import type { E2eResult } from "./run-bench.js";

/** Issue 6: ratio ≥ 0.8, p99 ≤ 10 ms at half the maximum rate. */
export const E2E_TARGETS = { ratioMin: 0.8, p99MsMax: 10 } as const;

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]) => `| ${r.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join(" | ")} |`;
  return [line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)];
}

const usText = (c: Record<string, number>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");

const met = (ok: boolean): string => (ok ? "met" : "NOT met");

export function renderE2e(r: E2eResult): string {
  const out: string[] = [];
  out.push(
    `bench e2e: nats-server ${r.server_version}, ${r.nodes} nodes, ${r.partitions} partitions, ${r.markets} markets, ` +
      `${r.publishers} publishers × window ${r.window}, ${r.payload_bytes} B commands, ${r.duration_s} s per phase, node failure timeout ${r.node_failure_timeout_ms} ms${r.node_args.length > 0 ? `, node flags: ${r.node_args.join(" ")}` : ""}`,
    `machine: ${r.cpu_model}, ${r.cores} cores, Node ${r.node_version}, load average ${r.load_avg_1m_at_start} at start`,
    "",
  );
  out.push(
    ...table([
      ["figure", "value", "target"],
      ["raw JetStream acked publishes (msgs/s)", fmt(r.raw_js_msgs_per_s), ""],
      ["Bourse end to end, sustained (cmds/s)", fmt(r.bourse_cmds_per_s), ""],
      ["ratio bourse / raw", r.ratio.toFixed(3), `≥ ${E2E_TARGETS.ratioMin} (${met(r.ratio >= E2E_TARGETS.ratioMin)})`],
      [`latency p50 at ${fmt(r.latency_rate_per_s)}/s (ms)`, r.latency_ms_p50.toFixed(2), ""],
      ["latency p99 (ms)", r.latency_ms_p99.toFixed(2), `≤ ${E2E_TARGETS.p99MsMax} (${met(r.latency_ms_p99 <= E2E_TARGETS.p99MsMax)})`],
      ["latency p99.9 (ms)", r.latency_ms_p999.toFixed(2), ""],
      ["latency max (ms)", r.latency_ms_max.toFixed(2), ""],
      ["from the publish call p50 / p99 / p99.9 (ms)", `${r.latency_from_publish_ms_p50.toFixed(2)} / ${r.latency_from_publish_ms_p99.toFixed(2)} / ${r.latency_from_publish_ms_p999.toFixed(2)}`, ""],
      ["closed-loop probe (cmds/s)", fmt(r.closed_loop_cmds_per_s), ""],
    ]),
    "",
    "Steps (an open-loop step keeps up when ≥ 97% of its schedule was sent, ≥ 95% of its rate reported within it, and every command reported and the output lag within the bound once publishing stopped):",
    ...table([
      ["step", "target/s", "reported/s", "sent", "ack p50/p99 ms", "batches/s", "cmds/batch", "drain ms", "lag ms", "verdict"],
      ...[...r.steps, { ...r.latency_step, kind: "latency" as const }].map((s) => [
        s.kind,
        s.targetPerS === null ? "" : fmt(s.targetPerS),
        fmt(s.cmdsPerS),
        `${(s.sentFraction * 100).toFixed(1)}%`,
        `${s.ackMsP50.toFixed(1)}/${s.ackMsP99.toFixed(1)}`,
        fmt(s.outBatchesPerS),
        s.cmdsPerBatch.toFixed(1),
        fmt(s.drainMs),
        fmt(s.lagMs),
        s.kind === "closed" ? "" : s.keptUp ? "keeps up" : "behind",
      ]),
    ]),
    "",
    "Latency as the load falls (from each command's scheduled send time to its execution report):",
    ...table([
      ["rate/s", "of max", "reported/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "ack p99 ms", "cmds/batch", "cpu total"],
      ...r.latency_curve.map((p) => [
        fmt(p.rate_per_s), String(p.fraction), fmt(p.cmds_per_s), p.p50_ms.toFixed(2), p.p99_ms.toFixed(2), p.p999_ms.toFixed(2), p.max_ms.toFixed(2),
        p.ack_ms_p99.toFixed(1), p.cmds_per_batch.toFixed(1), String(p.cpu["total"] ?? ""),
      ]),
    ]),
    "",
    `CPU (cores) idle cluster:     ${cpuText(r.cpu_idle)}`,
    `CPU (cores) in the raw phase: ${cpuText(r.raw.cpu)}`,
    `CPU (cores) at the maximum:   ${cpuText(r.cpu_at_max)}`,
    `CPU µs per raw publish:       ${usText(r.raw_cpu_us_per_msg)}`,
    `CPU µs per Bourse command:    ${usText(r.bourse_cpu_us_per_cmd)}`,
  );
  if (r.profile !== undefined) {
    const p = r.profile;
    out.push(
      "",
      `Node profile at ${fmt(p.step.targetPerS ?? 0)}/s (${p.profiles} nodes, ${fmt(p.busyMs)} ms busy of ${fmt(p.wallMs)} ms); shares of the busy time`,
      ...table([["module (self time)", "%"], ...p.modules.slice(0, 12).map((m) => [m.name, m.pct.toFixed(1)])]),
      "",
      ...table([["function (self time)", "where", "%"], ...p.functions.map((f) => [f.name, f.where ?? f.module, f.pct.toFixed(1)])]),
      "",
      ...table([["our function (inclusive)", "where", "%"], ...p.ours.map((f) => [f.name, f.where ?? f.module, f.pct.toFixed(1)])]),
      `profiles: ${p.files.join(", ")}`,
    );
  }
  if (r.warnings.length > 0) out.push("", ...r.warnings.map((w) => `WARNING: ${w}`));
  return out.join("\n") + "\n";
}
