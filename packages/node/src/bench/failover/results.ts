/**
 * The figures of a run, from its trials: per kind (failover after kill -9, handoff
 * after SIGTERM) the outside client's times over every moved partition of every
 * trial, the nodes' own serving times, and the breakdown by phase. `toJson` is the
 * --json contract (docs/benchmarks.md).
 */
import { known, summarize, type Summary } from "./stats.js";
import type { TrialKind, TrialResult } from "./trial.js";

export interface KindFigures {
  trials: number;
  partitions_moved_per_trial: number[];
  /** Signal → the partition answers a query and executes a command (the later of the two). */
  served_ms: Summary;
  /** The longest a probe waited (publish → served), per moved partition: how long it did not serve. */
  wait_ms: Summary;
  query_ms: Summary;
  command_ms: Summary;
  /** Signal → the new owner's "partition serving" line. */
  node_serving_ms: Summary;
  breakdown_ms: {
    detection: Summary;
    agreement: Summary;
    lease: Summary;
    lease_wait: Summary;
    snapshot: Summary;
    replay: Summary;
    client: Summary;
    /** Parts of snapshot and replay, from the runner's own timings. */
    output_position: Summary;
    snapshot_read: Summary;
    engine_restore: Summary;
    consumer_setup: Summary;
  };
  /** Commands applied while recovering, per moved partition. */
  replayed_commands: Summary;
  unrecovered: number;
  /** "assignment CAS lost; re-reading" lines over all trials. */
  assignment_cas_lost: number;
  /** Probes the old owner applied before it stopped (replaced by new ones). */
  probes_replaced: number;
  per_trial: {
    victim: string;
    moved: number;
    served_ms_p50: number | null;
    served_ms_max: number | null;
    detection_ms_max: number | null;
    cas_lost: number;
    victim_stop_ms: number | null;
    rebalance_ms: number;
  }[];
}

export function kindFigures(trials: readonly TrialResult[]): KindFigures {
  const moved = trials.flatMap((t) => t.moved);
  const b = moved.map((m) => m.breakdown);
  const client = moved.map((m) => (m.servedMs === null || m.breakdown.nodeServingMs === null ? null : m.servedMs - m.breakdown.nodeServingMs));
  return {
    trials: trials.length,
    partitions_moved_per_trial: trials.map((t) => t.moved.length),
    served_ms: summarize(known(moved.map((m) => m.servedMs))),
    wait_ms: summarize(known(moved.map((m) => (m.servedMs === null ? null : m.waitMs)))),
    query_ms: summarize(known(moved.map((m) => m.queryMs))),
    command_ms: summarize(known(moved.map((m) => m.commandMs))),
    node_serving_ms: summarize(known(b.map((x) => x.nodeServingMs))),
    breakdown_ms: {
      detection: summarize(known(b.map((x) => x.detectionMs))),
      agreement: summarize(known(b.map((x) => x.agreementMs))),
      lease: summarize(known(b.map((x) => x.leaseMs))),
      lease_wait: summarize(known(b.map((x) => x.leaseWaitMs))),
      snapshot: summarize(known(b.map((x) => x.snapshotMs))),
      replay: summarize(known(b.map((x) => x.replayMs))),
      client: summarize(known(client)),
      output_position: summarize(known(b.map((x) => x.positionMs))),
      snapshot_read: summarize(known(b.map((x) => x.snapshotReadMs))),
      engine_restore: summarize(known(b.map((x) => x.restoreMs))),
      consumer_setup: summarize(known(b.map((x) => x.consumerMs))),
    },
    replayed_commands: summarize(known(b.map((x) => x.replayed))),
    unrecovered: trials.reduce((s, t) => s + t.unrecovered.length, 0),
    assignment_cas_lost: trials.reduce((s, t) => s + t.casLost, 0),
    probes_replaced: moved.reduce((s, m) => s + Math.max(0, m.probes - 1), 0),
    per_trial: trials.map((t) => {
      const served = summarize(known(t.moved.map((m) => m.servedMs)));
      return {
        victim: t.victim,
        moved: t.moved.length,
        served_ms_p50: served.p50,
        served_ms_max: served.max,
        detection_ms_max: summarize(known(t.moved.map((m) => m.breakdown.detectionMs))).max,
        cas_lost: t.casLost,
        victim_stop_ms: t.victimStopMs,
        rebalance_ms: t.rebalanceMs,
      };
    }),
  };
}

export interface RunFacts {
  nodes: number;
  partitions: number;
  markets: number;
  ordersLoaded: number;
  ordersResident: number;
  loadMs: number;
  loadPublishesPerS: number;
  heartbeatMs: number;
  failureMsTimeout: number;
  recoveryMsP99Target: number;
  handoffMsP99Target: number;
  machine: Record<string, unknown>;
}

export interface FailoverJson {
  recovery_ms_p50: number | null;
  recovery_ms_p99: number | null;
  recovery_ms_max: number | null;
  /** SIGTERM: the longest a command sent during the move waited (the partition not serving), p50/p99/max over moved partitions. */
  handoff_ms_p50: number | null;
  handoff_ms_p99: number | null;
  handoff_ms_max: number | null;
  /** SIGTERM: from the signal until the new owner served (the move's whole length; the old owner serves meanwhile). */
  handoff_new_owner_ms_p50: number | null;
  handoff_new_owner_ms_p99: number | null;
  trials: number;
  handoff_trials: number;
  partitions_moved_per_trial: number[];
  handoff_partitions_moved_per_trial: number[];
  orders_resident: number;
  orders_loaded: number;
  markets: number;
  nodes: number;
  partitions: number;
  load_s: number;
  load_publishes_per_s: number;
  heartbeat_ms: number;
  failure_timeout_ms: number;
  targets: { recovery_ms_p99: number; handoff_ms_p99: number };
  failover: KindFigures;
  handoff: KindFigures;
  machine: Record<string, unknown>;
}

export function toJson(facts: RunFacts, trials: readonly TrialResult[]): FailoverJson {
  const of = (k: TrialKind): TrialResult[] => trials.filter((t) => t.kind === k);
  const failover = kindFigures(of("failover"));
  const handoff = kindFigures(of("handoff"));
  return {
    recovery_ms_p50: failover.served_ms.p50,
    recovery_ms_p99: failover.served_ms.p99,
    recovery_ms_max: failover.served_ms.max,
    handoff_ms_p50: handoff.wait_ms.p50,
    handoff_ms_p99: handoff.wait_ms.p99,
    handoff_ms_max: handoff.wait_ms.max,
    handoff_new_owner_ms_p50: handoff.served_ms.p50,
    handoff_new_owner_ms_p99: handoff.served_ms.p99,
    trials: failover.trials,
    handoff_trials: handoff.trials,
    partitions_moved_per_trial: failover.partitions_moved_per_trial,
    handoff_partitions_moved_per_trial: handoff.partitions_moved_per_trial,
    orders_resident: facts.ordersResident,
    orders_loaded: facts.ordersLoaded,
    markets: facts.markets,
    nodes: facts.nodes,
    partitions: facts.partitions,
    load_s: Math.round(facts.loadMs / 100) / 10,
    load_publishes_per_s: facts.loadPublishesPerS,
    heartbeat_ms: facts.heartbeatMs,
    failure_timeout_ms: facts.failureMsTimeout,
    targets: { recovery_ms_p99: facts.recoveryMsP99Target, handoff_ms_p99: facts.handoffMsP99Target },
    failover,
    handoff,
    machine: facts.machine,
  };
}
