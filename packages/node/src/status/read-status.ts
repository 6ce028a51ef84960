/**
 * Reads a cluster's state from NATS alone, for `bourse status`: the cluster's
 * configuration, the connected server, the streams, the members and who is live,
 * the agreed assignment table, every lease and its history, and every
 * partition's lag. Read-only, except for the short-lived consumers that count a
 * partition's lag. Every request is bounded by `requestMsTimeout`; the caller
 * bounds the whole.
 */
import { jetstream, jetstreamManager, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AssignmentValue } from "../assignment-agreement.js";
import { PROVISION_LIMITS, readClusterConfig } from "../provision.js";
import { ASSIGNMENT_KEY, KV_LEASES, KV_MEMBERS, OBJ_SNAPSHOTS, STREAM_DLQ, STREAM_IN, STREAM_OUT } from "../protocol.js";
import { checkConnectedServer } from "../server-version.js";
import { leaseHistory, readLeaseRevisions } from "./lease-history.js";
import { readMembers } from "./members.js";
import type { AssignmentStatus, ClusterStatus, PartitionStatus, ServerStatus, StreamStatus } from "./model.js";
import { readPartitionPosition } from "./partition-lag.js";
import { clusterProblems, partitionProblems } from "./problems.js";
import { reading, StatusReadError } from "./read-error.js";

export interface ReadStatusOptions {
  /** How long to wait for a member's heartbeat before calling it not live: the nodes' failure timeout. */
  failureMsTimeout: number;
  /** Owner changes to report, newest first. */
  ownerChangesMax: number;
  /** One JetStream request. */
  requestMsTimeout?: number;
  /** Partitions read at once. */
  concurrency?: number;
  now?: () => number;
}

export const STATUS_DEFAULTS = {
  requestMsTimeout: PROVISION_LIMITS.requestMsTimeout,
  concurrency: 16,
} as const;

/**
 * Throws ProvisionError (cluster_not_provisioned: never provisioned) from
 * readClusterConfig, and StatusReadError when the server has no JetStream or a
 * read fails.
 */
export async function readClusterStatus(nc: NatsConnection, opts: ReadStatusOptions): Promise<ClusterStatus> {
  const now = opts.now ?? Date.now;
  const timeout = opts.requestMsTimeout ?? STATUS_DEFAULTS.requestMsTimeout;
  const server = serverStatus(nc);
  if (nc.info?.jetstream !== true) {
    throw new StatusReadError("no_jetstream", `JetStream is not enabled on the nats-server at ${server.url}, so it holds no Bourse cluster (check --nats)`);
  }
  const config = await readClusterConfig(nc);
  const js = jetstream(nc, { timeout });
  const jsm = await reading("the JetStream API", () => jetstreamManager(nc, { timeout }));
  const kvm = new Kvm(js);
  const [kvMembers, kvLeases, snapshots] = await Promise.all([
    reading(`bucket ${KV_MEMBERS}`, () => kvm.open(KV_MEMBERS, { allow_direct: false })),
    reading(`bucket ${KV_LEASES}`, () => kvm.open(KV_LEASES, { allow_direct: false })),
    reading(`object store ${OBJ_SNAPSHOTS}`, () => new Objm(js).open(OBJ_SNAPSHOTS)),
  ]);
  const P = config.partitions;
  const [streams, leaseStream, members, assignment, revisions, positions] = await Promise.all([
    Promise.all([STREAM_IN, STREAM_OUT, STREAM_DLQ].map((s) => readStream(jsm, s))),
    reading(`stream KV_${KV_LEASES}`, () => jsm.streams.info(`KV_${KV_LEASES}`)),
    readMembers(kvMembers, jsm, opts.failureMsTimeout, now),
    readAssignment(kvLeases),
    readLeaseRevisions(kvLeases),
    mapLimit(P, opts.concurrency ?? STATUS_DEFAULTS.concurrency, (p) => readPartitionPosition(jsm, snapshots, p)),
  ]);
  const keptPerKey = leaseStream.config.max_msgs_per_subject > 0 ? leaseStream.config.max_msgs_per_subject : Number.MAX_SAFE_INTEGER;
  const leases = leaseHistory(revisions, keptPerKey);
  const live = new Set(members.filter((m) => m.live).map((m) => m.id));
  const partitions = positions.map((pos, p): PartitionStatus => {
    const assigned = assignment?.owners[p] ?? null;
    const lease = leases.holders.get(p) ?? null;
    return { partition: p, assigned, lease, ...pos, problems: partitionProblems(assigned, lease, live) };
  });
  return {
    at: new Date(now()).toISOString(),
    server,
    cluster: { partitions: P, createdAt: config.createdAt },
    streams,
    members,
    liveWindowMs: opts.failureMsTimeout,
    assignment,
    partitions,
    ownerChanges: leases.changes.slice(0, opts.ownerChangesMax),
    leaseHistory: leaseStream.config.max_msgs_per_subject,
    problems: clusterProblems({ liveMembers: live.size, hasAssignment: assignment !== null, partitions }),
  };
}

function serverStatus(nc: NatsConnection): ServerStatus {
  const info = nc.info;
  return {
    url: nc.getServer(),
    name: info?.server_name ?? "",
    id: info?.server_id ?? "",
    version: info?.version ?? "",
    cluster: info?.cluster ?? null,
    warnings: checkConnectedServer(nc),
  };
}

async function readStream(jsm: JetStreamManager, name: string): Promise<StreamStatus> {
  const info: StreamInfo = await reading(`stream ${name}`, () => jsm.streams.info(name));
  return {
    name,
    messages: info.state.messages,
    bytes: info.state.bytes,
    replicas: info.config.num_replicas,
    leader: info.cluster?.leader ?? null,
    laggingReplicas: (info.cluster?.replicas ?? []).filter((r) => !r.current || r.offline === true).map((r) => r.name),
  };
}

/** The agreed table, or null if none was written (or it was deleted, or cannot be read). */
async function readAssignment(kv: KV): Promise<AssignmentStatus | null> {
  const e = await reading(`${KV_LEASES} key ${ASSIGNMENT_KEY}`, () => kv.get(ASSIGNMENT_KEY));
  if (e === null || e.operation !== "PUT") return null;
  try {
    const v = e.json<Partial<AssignmentValue>>();
    if (!Array.isArray(v.owners) || !Array.isArray(v.members)) return null;
    return { revision: e.revision, members: v.members.map(String), owners: v.owners.map(String), at: e.created.toISOString() };
  } catch {
    return null;
  }
}

/** fn(0) … fn(n-1), at most `limit` at a time, results in order. */
async function mapLimit<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return out;
}
