import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import type { RollbackSpill } from "./rollback-spill.js";
import type { SnapshotGate } from "./snapshot-gate.js";
import type { JsAckPublisher } from "./ack-publisher.js";

/** The logging surface the partition code needs (pino's Logger satisfies it). */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}

/** Counters the partition code reports; the node maps them to Prometheus metrics. */
export interface PartitionObserver {
  commands(p: number, n: number): void;
  events(p: number, n: number): void;
  batch(p: number, events: number, bytes: number, ms: number): void;
  lag(p: number, pending: number): void;
  snapshot(p: number, ms: number, bytes: number): void;
  fenced(p: number): void;
  deadLetter(p: number): void;
}

export const nullObserver: PartitionObserver = {
  commands: () => {},
  events: () => {},
  batch: () => {},
  lag: () => {},
  snapshot: () => {},
  fenced: () => {},
  deadLetter: () => {},
};

/** What a partition runner is given by its node. */
export interface PartitionDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  snapshots: ObjectStore;
  log: Log;
  observer: PartitionObserver;
  nodeId: string;
  /** Acknowledged publishes of output batches, through one inbox of the node's connection (ack-publisher.ts). */
  acks: JsAckPublisher;
  /** The node's one-at-a-time turn for snapshot encodings, shared by all its partitions. */
  snapshotGate: SnapshotGate;
  /** Where big rollback points go (absent: they stay in memory; its minBytes says how big). */
  rollbackSpill?: RollbackSpill;
}

/** The runner's tunables, from the node's config. */
export interface PartitionTuning {
  partitions: number;
  batchEventsMax: number;
  flushMsInterval: number;
  publishMsTimeout: number;
  publishAttemptsMax: number;
  snapshotCommandsEvery: number;
  snapshotMsEvery: number;
  /** Orders and outcomes encoded or decoded per turn of the event loop (default: SNAPSHOT_SLICE_UNITS in partition-snapshots.ts, RESTORE_SLICE_UNITS in the runner; tests make it small). */
  snapshotSliceUnits?: number;
  /** Events held before intake waits for output to drain (backpressure). */
  backlogEventsMax: number;
  engine: { terminalOrdersMax?: number; idempotencyMax?: number };
  testSwitches: {
    noOutputFencing?: boolean;
    noOutputSuppression?: boolean;
    noIdempotency?: boolean;
    poisonCmdIdPrefix?: string;
  };
}
