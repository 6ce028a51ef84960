/** The readable report of `bourse bench failover` (without --json). */
import type { FailoverJson, KindFigures } from "./results.js";
import type { Summary } from "./stats.js";

const ms = (v: number | null): string => (v === null ? "-" : `${v}`);
const row = (name: string, s: Summary): string => `  ${name.padEnd(26)} ${ms(s.p50).padStart(7)} ${ms(s.p99).padStart(7)} ${ms(s.max).padStart(7)}   (n=${s.n})`;

function kindBlock(title: string, k: KindFigures): string[] {
  const b = k.breakdown_ms;
  return [
    `${title}: ${k.trials} trials, partitions moved per trial ${k.partitions_moved_per_trial.join(", ")}`,
    `  ${"ms".padEnd(26)} ${"p50".padStart(7)} ${"p99".padStart(7)} ${"max".padStart(7)}`,
    row("new owner served (q + cmd)", k.served_ms),
    row("longest wait of a command", k.wait_ms),
    row("  query answered", k.query_ms),
    row("  command reported", k.command_ms),
    row("node log: partition serving", k.node_serving_ms),
    "  breakdown (new owner's log):",
    row("  detection", b.detection),
    row("  assignment agreed", b.agreement),
    row("  lease acquired", b.lease),
    row("    of which release wait", b.lease_wait),
    row("  snapshot loaded", b.snapshot),
    row("    output position read", b.output_position),
    row("    snapshot read", b.snapshot_read),
    row("    engine restored", b.engine_restore),
    row("  replay → serving", b.replay),
    row("    consumer set up", b.consumer_setup),
    row("    commands replayed (count)", k.replayed_commands),
    row("  serving → client saw it", b.client),
    `  unrecovered ${k.unrecovered}; assignment CAS lost ${k.assignment_cas_lost}; probes the old owner served meanwhile ${k.probes_replaced}`,
    `  per trial (victim moved served-p50/max detection-max cas-lost [stop] rebalance):`,
    ...k.per_trial.map(
      (t) =>
        `    ${t.victim} ${String(t.moved).padStart(3)}  ${ms(t.served_ms_p50).padStart(5)} / ${ms(t.served_ms_max).padStart(5)}  ${ms(t.detection_ms_max).padStart(5)}  ${t.cas_lost}${t.victim_stop_ms !== null ? `  [stop ${t.victim_stop_ms}]` : ""}  ${t.rebalance_ms}`,
    ),
  ];
}

export function renderReport(r: FailoverJson): string {
  const verdict = (v: number | null, target: number): string => (v === null ? "no data" : v <= target ? "met" : "NOT met");
  return [
    `bourse bench failover: ${r.nodes} nodes, ${r.partitions} partitions, ${r.orders_resident} resting orders in ${r.markets} markets`,
    `  (loaded ${r.orders_loaded} in ${r.load_s} s, ${r.load_publishes_per_s} publishes/s; heartbeat ${r.heartbeat_ms} ms, failure timeout ${r.failure_timeout_ms} ms)`,
    `  machine: ${String(r.machine["cpu"])}, ${String(r.machine["cores"])} cores, nats-server ${String(r.machine["nats_server"])}; load average before ${String(r.machine["load_avg_before"])}, after ${String(r.machine["load_avg_after"])}`,
    "",
    ...kindBlock("Failover (kill -9)", r.failover),
    "",
    ...kindBlock("Handoff (SIGTERM)", r.handoff),
    "",
    `recovery p50 ${ms(r.recovery_ms_p50)} / p99 ${ms(r.recovery_ms_p99)} / max ${ms(r.recovery_ms_max)} ms: target p99 ≤ ${r.targets.recovery_ms_p99} ms ${verdict(r.recovery_ms_p99, r.targets.recovery_ms_p99)}`,
    `handoff  p50 ${ms(r.handoff_ms_p50)} / p99 ${ms(r.handoff_ms_p99)} / max ${ms(r.handoff_ms_max)} ms not serving (longest wait of a command): target p99 ≤ ${r.targets.handoff_ms_p99} ms ${verdict(r.handoff_ms_p99, r.targets.handoff_ms_p99)}`,
    `         (the new owner served p50 ${ms(r.handoff_new_owner_ms_p50)} / p99 ${ms(r.handoff_new_owner_ms_p99)} ms after SIGTERM; the old owner served until the switch)`,
    "",
  ].join("\n");
}
