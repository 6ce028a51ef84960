/**
 * The node's Prometheus metrics, in a registry of its own (not prom-client's
 * global one), so several nodes in one process (tests, the simulator) do not
 * collide. Labels stay low-cardinality: only gauges that describe one partition
 * carry `partition` (at most P series each); counters are per node.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const METRICS_PREFIX = "bourse_";

export type FencingKind = "lease" | "sequence";

export interface NodeMetrics {
  readonly registry: Registry;
  /** Commands applied by the engine (including rejected ones). */
  readonly commands: Counter;
  readonly events: Counter;
  /** Output batches published to BOURSE_OUT. */
  readonly batches: Counter;
  readonly batchEvents: Histogram;
  readonly batchBytes: Histogram;
  readonly batchPublishSeconds: Histogram;
  /** Commands in BOURSE_IN not yet applied, per owned partition. */
  readonly lag: Gauge<"partition">;
  readonly partitionsOwned: Gauge;
  /** Partitions this node took over from a member that failed. */
  readonly failovers: Counter;
  readonly partitionRestarts: Counter;
  readonly snapshotSeconds: Histogram;
  readonly snapshotLastTimestampSeconds: Gauge<"partition">;
  /** Writes refused because another node owns the partition now: its lease or the output sequence moved. */
  readonly fencing: Counter<"kind">;
  readonly deadLetters: Counter;
  /** Prometheus text exposition of every metric. */
  text(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Process metrics (CPU, memory, GC, event-loop delay via monitorEventLoopDelay); default true. */
  defaultMetrics?: boolean;
  /** Constant labels on every series, e.g. `{ node: id }`. */
  labels?: Record<string, string>;
}

/** Events per batch: up to batchEventsMax (1000 by default), and beyond. */
const BATCH_EVENTS_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];
/** Bytes per batch, by powers of four up to 4 MiB. */
const BATCH_BYTES_BUCKETS = [256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304];
/** A JetStream acknowledged publish takes about a millisecond on a LAN. */
const PUBLISH_SECONDS_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const SNAPSHOT_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(opts: MetricsOptions = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics ?? true) {
    // Includes nodejs_eventloop_lag_{min,max,mean,p50,p90,p99}_seconds from perf_hooks.monitorEventLoopDelay.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  }
  const registers = [registry];
  const p = METRICS_PREFIX;
  return {
    registry,
    commands: new Counter({ name: `${p}commands_total`, help: "Commands applied by the engine, rejected ones included", registers }),
    events: new Counter({ name: `${p}events_total`, help: "Events emitted by the engine", registers }),
    batches: new Counter({ name: `${p}batches_total`, help: "Output batches published to BOURSE_OUT", registers }),
    batchEvents: new Histogram({ name: `${p}batch_events`, help: "Events per output batch", buckets: BATCH_EVENTS_BUCKETS, registers }),
    batchBytes: new Histogram({ name: `${p}batch_bytes`, help: "Bytes per output batch", buckets: BATCH_BYTES_BUCKETS, registers }),
    batchPublishSeconds: new Histogram({
      name: `${p}batch_publish_duration_seconds`,
      help: "Time from publishing an output batch to its JetStream acknowledgement",
      buckets: PUBLISH_SECONDS_BUCKETS,
      registers,
    }),
    lag: new Gauge({ name: `${p}partition_lag_commands`, help: "Commands in BOURSE_IN not yet applied", labelNames: ["partition"], registers }),
    partitionsOwned: new Gauge({ name: `${p}partitions_owned`, help: "Partitions this node owns", registers }),
    failovers: new Counter({ name: `${p}failovers_total`, help: "Partitions taken over from a failed member", registers }),
    partitionRestarts: new Counter({ name: `${p}partition_restarts_total`, help: "Partition loops rebuilt after a failure", registers }),
    snapshotSeconds: new Histogram({
      name: `${p}snapshot_duration_seconds`,
      help: "Time to encode and store a partition snapshot",
      buckets: SNAPSHOT_SECONDS_BUCKETS,
      registers,
    }),
    snapshotLastTimestampSeconds: new Gauge({
      name: `${p}snapshot_last_timestamp_seconds`,
      help: "Unix time of the partition's last stored snapshot",
      labelNames: ["partition"],
      registers,
    }),
    fencing: new Counter({
      name: `${p}fencing_total`,
      help: "Writes refused because another node owns the partition (kind: lease or sequence)",
      labelNames: ["kind"],
      registers,
    }),
    deadLetters: new Counter({ name: `${p}dead_letters_total`, help: "Commands written to the dead-letter stream", registers }),
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
