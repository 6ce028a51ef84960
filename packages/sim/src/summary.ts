/**
 * The figures of a run, as the JSON fields `bourse sim --json` prints (the
 * names are a contract: docs/simulation.md lists them), and the rules that
 * decide pass or fail.
 */
import { build } from "hdr-histogram-js";
import { describeViolation, VIOLATION_INVARIANT, type Violation } from "@bourse/node";
import { nodeUpFraction, partitionAvailability } from "./fault-schedule.js";
import type { SimOutcome } from "./run-sim.js";

export interface SimSummary {
  seed: number;
  passed: boolean;
  duration_s: number;
  nodes: number;
  partitions: number;
  commands_sent: number;
  commands_acked: number;
  commands_unacked: number;
  resends: number;
  lost: number;
  duplicated_trades: number;
  invariant_violations: number;
  violations_by_invariant: Record<string, number>;
  faults: number;
  faults_by_kind: Record<string, number>;
  failovers: number;
  handoffs: number;
  resumed_in_place: number;
  recovery_ms_p50: number;
  recovery_ms_p99: number;
  recovery_ms_max: number;
  handoff_ms_p99: number;
  throughput_cmd_s: number;
  latency_ms_p50: number;
  latency_ms_p99: number;
  latency_ms_max: number;
  reports_received: number;
  trades: number;
  availability_measured: number;
  availability_predicted: number;
  node_up_predicted: number;
  reproduce: string;
  work_dir: string | null;
  violations: string[];
  /** Every (fault, partition) recovery: failover, handoff, or resumed in place. */
  recoveries: { partition: number; target: string; fault: string; kind: string; ms: number; node: string }[];
}

const VIOLATIONS_LISTED_MAX = 50;
/** Per kind of violation and partition, the first few are listed (one broken guarantee often breaks every later event). */
const LISTED_PER_GROUP_MAX = 3;

/** The first violations of each (check, partition), then a line counting the rest. */
export function listViolations(vs: readonly Violation[]): string[] {
  const groups = new Map<string, Violation[]>();
  for (const v of vs) {
    const k = `${v.check}/${v.partition}`;
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [v]);
    else g.push(v);
  }
  const out: string[] = [];
  for (const g of groups.values()) {
    for (const v of g.slice(0, LISTED_PER_GROUP_MAX)) out.push(describeViolation(v));
    if (g.length > LISTED_PER_GROUP_MAX) out.push(`  … and ${g.length - LISTED_PER_GROUP_MAX} more ${g[0]!.check} in partition ${g[0]!.partition}`);
  }
  return out.slice(0, VIOLATIONS_LISTED_MAX);
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export function summarize(o: SimOutcome, reproduce: string): SimSummary {
  const failovers = o.recovery.recoveries.filter((r) => r.kind === "failover").map((r) => r.ms).sort((a, b) => a - b);
  const handoffs = o.recovery.recoveries.filter((r) => r.kind === "handoff").map((r) => r.ms).sort((a, b) => a - b);
  const allOutages = o.recovery.recoveries.map((r) => r.ms);
  const meanOutage = allOutages.length === 0 ? 0 : allOutages.reduce((a, b) => a + b, 0) / allOutages.length;
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });
  for (const ms of o.latenciesMs) h.recordValue(Math.max(1, Math.round(ms)));
  const byInvariant: Record<string, number> = {};
  for (const v of o.violations) {
    const k = `${VIOLATION_INVARIANT[v.check]}_${v.check}`;
    byInvariant[k] = (byInvariant[k] ?? 0) + 1;
  }
  const byKind: Record<string, number> = {};
  for (const f of o.faults) {
    const k = f.fault.target === "nats" ? "nats_kill" : f.fault.fault;
    byKind[k] = (byKind[k] ?? 0) + 1;
  }
  const count = (pred: (v: Violation) => boolean) => o.violations.filter(pred).length;
  const summary: SimSummary = {
    seed: o.config.seed,
    passed: o.violations.length === 0,
    duration_s: round(o.loadMs / 1000, 1),
    nodes: o.config.nodes,
    partitions: o.config.partitions,
    commands_sent: o.sent,
    commands_acked: o.acked,
    commands_unacked: o.unacked,
    resends: o.resends,
    lost: count((v) => v.check === "acked_not_logged" || v.check === "no_outcome"),
    duplicated_trades: count((v) => v.check === "duplicate_trade"),
    invariant_violations: o.violations.length,
    violations_by_invariant: byInvariant,
    faults: o.faults.length,
    faults_by_kind: byKind,
    failovers: failovers.length,
    handoffs: handoffs.length,
    resumed_in_place: o.recovery.recoveries.filter((r) => r.kind === "resumed").length,
    recovery_ms_p50: percentile(failovers, 0.5),
    recovery_ms_p99: percentile(failovers, 0.99),
    recovery_ms_max: failovers[failovers.length - 1] ?? 0,
    handoff_ms_p99: percentile(handoffs, 0.99),
    throughput_cmd_s: round(o.acked / (o.loadMs / 1000), 1),
    latency_ms_p50: o.latenciesMs.length ? h.getValueAtPercentile(50) : 0,
    latency_ms_p99: o.latenciesMs.length ? h.getValueAtPercentile(99) : 0,
    latency_ms_max: o.latenciesMs.length ? h.maxValue : 0,
    reports_received: o.reportsReceived,
    trades: o.trades,
    availability_measured: round(o.availabilityMeasured, 5),
    availability_predicted: round(partitionAvailability(o.config.model.mtbfS, meanOutage), 5),
    node_up_predicted: round(nodeUpFraction(o.config.model), 5),
    reproduce,
    work_dir: o.workDirKept ? o.workDir : null,
    violations: listViolations(o.violations),
    recoveries: o.recovery.recoveries,
  };
  h.destroy();
  return summary;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
