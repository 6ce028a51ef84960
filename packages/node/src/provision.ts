/**
 * Creates the cluster's streams, buckets and object store, and records the
 * cluster's partition count, idempotently: every node runs it at start, several
 * at once, and none may fail because another got there first.
 *
 * Existing resources are updated only where that is safe and cannot lose data
 * (added subjects, de-duplication window, member TTL, history); a difference
 * that is not safe to change from a node (storage, retention, replicas) is left
 * alone and reported in `warnings`, for the node to log and an operator to fix.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamClient, JetStreamManager, StreamConfig, StreamInfo, StreamUpdateConfig } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { NodeConfig } from "./config.js";
import { PARTITIONS_MAX } from "./partitioning.js";
import { CLUSTER_CONFIG_KEY, KV_CLUSTER, KV_LEASES, KV_MEMBERS, OBJ_SNAPSHOTS, STREAM_DLQ, STREAM_IN, STREAM_OUT, subjects } from "./protocol.js";

export const PROVISION_LIMITS = {
  /**
   * One JetStream API request. Short, because nats-server 2.9 answers nothing (no
   * error, no 503) to a request about a replicated stream whose raft group has no
   * leader yet, e.g. while another node's create of it is in flight: we time out
   * and ask again rather than wait.
   */
  requestMsTimeout: 2_000,
  /** The whole of one step (create or update one resource), retries included. */
  stepMsTimeout: 30_000,
  retryMsBackoffBase: 50,
  retryMsBackoffMax: 1_000,
  /** Member entries outlive a failure timeout by this factor, and at least membersMsTtlMin. */
  membersTtlFactor: 10,
  membersMsTtlMin: 5_000,
  /**
   * Revisions kept per key of KV_LEASES: `bourse status` reads the last owner changes
   * from the lease keys' history. Nodes read only the latest revision.
   */
  leasesHistory: 32,
} as const;

/** The cluster's fixed configuration, in KV_CLUSTER under CLUSTER_CONFIG_KEY. */
export interface ClusterConfig {
  partitions: number;
  /** ISO 8601, when the first node created the cluster. */
  createdAt: string;
}

export interface ClusterHandles {
  js: JetStreamClient;
  jsm: JetStreamManager;
  kvMembers: KV;
  kvLeases: KV;
  kvCluster: KV;
  snapshots: ObjectStore;
  clusterConfig: ClusterConfig;
  /** Differences from this node's configuration that provisioning left alone; log them. */
  warnings: string[];
}

export type ProvisionErrorCode = "provision_failed" | "cluster_config_mismatch" | "cluster_not_provisioned" | "cluster_config_invalid";

/** A resource could not be created, opened or updated; `resource` names it. */
export class ProvisionError extends Error {
  override readonly name: string = "ProvisionError";
  constructor(
    readonly code: ProvisionErrorCode,
    readonly resource: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** This node's partition count differs from the one the cluster was created with. */
export class ClusterConfigMismatchError extends ProvisionError {
  override readonly name = "ClusterConfigMismatchError";
  constructor(
    readonly configured: number,
    readonly cluster: ClusterConfig,
  ) {
    super(
      "cluster_config_mismatch",
      `${KV_CLUSTER}/${CLUSTER_CONFIG_KEY}`,
      `this node was started with --partitions ${configured} but the cluster was created with ${cluster.partitions}; use --partitions ${cluster.partitions}`,
    );
  }
}

export function isProvisionError(e: unknown): e is ProvisionError {
  return e instanceof ProvisionError;
}

type ProvisionConfig = Pick<NodeConfig, "replicas" | "partitions" | "failureMsTimeout" | "duplicateMsWindow" | "publishMsTimeout">;

export async function provision(nc: NatsConnection, cfg: ProvisionConfig): Promise<ClusterHandles> {
  const jsm = await step("JetStream", "open the JetStream API (is JetStream enabled?)", () =>
    jetstreamManager(nc, { timeout: PROVISION_LIMITS.requestMsTimeout }),
  );
  const js = jetstream(nc, { timeout: cfg.publishMsTimeout });
  const warnings: string[] = [];
  // Resources are independent: create them at once (an R3 create waits for a raft election).
  await Promise.all(eventStreams(cfg).map((spec) => ensureStream(jsm, spec, warnings)));
  const kvm = new Kvm(jetstream(nc, { timeout: PROVISION_LIMITS.requestMsTimeout }));
  const membersMsTtl = Math.max(PROVISION_LIMITS.membersTtlFactor * cfg.failureMsTimeout, PROVISION_LIMITS.membersMsTtlMin);
  const [kvMembers, kvLeases, kvCluster, snapshots] = await Promise.all([
    ensureBucket(kvm, jsm, KV_MEMBERS, { replicas: cfg.replicas, history: 1, ttl: membersMsTtl }, warnings),
    ensureBucket(kvm, jsm, KV_LEASES, { replicas: cfg.replicas, history: PROVISION_LIMITS.leasesHistory, ttl: 0 }, warnings),
    ensureBucket(kvm, jsm, KV_CLUSTER, { replicas: cfg.replicas, history: 1, ttl: 0 }, warnings),
    ensureObjectStore(new Objm(js), jsm, OBJ_SNAPSHOTS, cfg.replicas, warnings),
  ]);
  const clusterConfig = await ensureClusterConfig(kvCluster, cfg.partitions);
  return { js, jsm, kvMembers, kvLeases, kvCluster, snapshots, clusterConfig, warnings: warnings.sort() };
}

/** The cluster's configuration, for clients and tools that do not provision. */
export async function readClusterConfig(nc: NatsConnection): Promise<ClusterConfig> {
  const resource = `${KV_CLUSTER}/${CLUSTER_CONFIG_KEY}`;
  const kv = await new Kvm(jetstream(nc, { timeout: PROVISION_LIMITS.requestMsTimeout })).open(KV_CLUSTER, { allow_direct: false });
  let entry;
  try {
    entry = await retrying(() => kv.get(CLUSTER_CONFIG_KEY));
  } catch (e) {
    if (isStreamNotFound(e)) throw notProvisioned(resource, e);
    throw new ProvisionError("provision_failed", resource, `cannot read ${resource}: ${errorText(e)}`, { cause: e });
  }
  if (entry === null || entry.operation !== "PUT") throw notProvisioned(resource);
  return parseClusterConfig(entry.value);
}

function notProvisioned(resource: string, cause?: unknown): ProvisionError {
  return new ProvisionError("cluster_not_provisioned", resource, `the cluster is not provisioned: ${resource} is missing; start a node first`, { cause });
}

// ---------------------------------------------------------------------------
// Streams

type StreamSpec = Pick<StreamConfig, "name" | "subjects" | "storage" | "retention" | "discard" | "num_replicas" | "max_age" | "duplicate_window">;
/** What reconcile compares: a stream's spec, or a bucket's limits (history is max_msgs_per_subject). */
type StreamWants = Partial<StreamSpec> & { max_msgs_per_subject?: number; allow_direct?: boolean };

/** BOURSE_IN, BOURSE_OUT, BOURSE_DLQ: file-backed logs kept forever (limits retention, no limits). */
function eventStreams(cfg: ProvisionConfig): StreamSpec[] {
  const common = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: cfg.replicas,
    max_age: 0,
    duplicate_window: nanos(cfg.duplicateMsWindow),
  };
  return [
    { name: STREAM_IN, subjects: [subjects.inAll], ...common },
    { name: STREAM_OUT, subjects: [subjects.outAll], ...common },
    { name: STREAM_DLQ, subjects: [subjects.dlqAll], ...common },
  ];
}

async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, warnings: string[]): Promise<StreamInfo> {
  const info = await step(spec.name, `create stream ${spec.name}`, async () =>
    (await streamInfo(jsm, spec.name)) ??
    (await createOrAdopt(jsm, spec.name, () => jsm.streams.add({ ...spec }), async () => (await streamInfo(jsm, spec.name))!)),
  );
  return reconcile(jsm, info, spec, warnings);
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | null> {
  try {
    return await jsm.streams.info(name);
  } catch (e) {
    if (isStreamNotFound(e)) return null;
    throw e;
  }
}

/** Updates what is safe to change; reports the rest. */
async function reconcile(jsm: JetStreamManager, info: StreamInfo, want: StreamWants, warnings: string[]): Promise<StreamInfo> {
  const have = info.config;
  const name = have.name;
  const patch: Partial<StreamUpdateConfig> = {};
  const missing = (want.subjects ?? []).filter((w) => !have.subjects?.some((h) => subjectCovers(h, w)));
  if (missing.length > 0) {
    // The server refuses overlapping subjects: drop the ones the new ones cover (no message is orphaned).
    patch.subjects = [...(have.subjects ?? []).filter((h) => !missing.some((m) => subjectCovers(m, h))), ...missing];
  }
  if (want.duplicate_window !== undefined && have.duplicate_window !== want.duplicate_window) patch.duplicate_window = want.duplicate_window;
  if (want.max_age !== undefined && have.max_age !== want.max_age) patch.max_age = want.max_age;
  if (want.discard !== undefined && have.discard !== want.discard) patch.discard = want.discard;
  if (want.allow_direct !== undefined && have.allow_direct !== want.allow_direct) patch.allow_direct = want.allow_direct;
  if (want.max_msgs_per_subject !== undefined && have.max_msgs_per_subject !== want.max_msgs_per_subject) {
    patch.max_msgs_per_subject = want.max_msgs_per_subject;
  }
  // The server refuses a de-duplication window longer than max_age (KV_MEMBERS has a TTL).
  const maxAge = patch.max_age ?? have.max_age;
  if (maxAge > 0 && (patch.duplicate_window ?? have.duplicate_window) > maxAge) patch.duplicate_window = maxAge;
  for (const f of ["storage", "retention", "num_replicas"] as const) {
    if (want[f] !== undefined && have[f] !== want[f]) {
      warnings.push(`${name}: ${f} is ${have[f]} but this node is configured for ${want[f]}; left unchanged (change it deliberately, for the whole cluster)`);
    }
  }
  if (Object.keys(patch).length === 0) return info;
  return step(name, `update stream ${name} (${Object.keys(patch).join(", ")})`, () => jsm.streams.update(name, patch));
}

/** Whether every subject that `subject` matches, `pattern` matches too (both may hold wildcards). */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || s[i] === ">") return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

// ---------------------------------------------------------------------------
// Buckets and the object store

interface BucketSpec {
  replicas: number;
  history: number;
  /** Entry lifetime in ms; 0 keeps entries forever. */
  ttl: number;
}

async function ensureBucket(kvm: Kvm, jsm: JetStreamManager, bucket: string, spec: BucketSpec, warnings: string[]): Promise<KV> {
  // Reads go to the stream leader, never a possibly stale follower: a lease or the
  // cluster config read right after a compare-and-set must see it.
  const kv = await step(bucket, `create bucket ${bucket}`, () =>
    createOrAdopt(jsm, `KV_${bucket}`, () => kvm.create(bucket, { ...spec, allow_direct: false }), () => kvm.open(bucket)),
  );
  const info = await readCreated(jsm, `KV_${bucket}`);
  await reconcile(jsm, info, { num_replicas: spec.replicas, max_age: nanos(spec.ttl), max_msgs_per_subject: spec.history }, warnings);
  return kv;
}

async function ensureObjectStore(objm: Objm, jsm: JetStreamManager, name: string, replicas: number, warnings: string[]): Promise<ObjectStore> {
  const os = await step(name, `create object store ${name}`, () =>
    createOrAdopt(jsm, `OBJ_${name}`, () => objm.create(name, { replicas, storage: StorageType.File }), () => objm.open(name)),
  );
  const info = await readCreated(jsm, `OBJ_${name}`);
  // Partitions read snapshots with direct gets (snapshot-store.ts); nats.js creates the store with
  // allow_direct, but a store made by other tools may lack it.
  await reconcile(jsm, info, { num_replicas: replicas, storage: StorageType.File, allow_direct: true }, warnings);
  return os;
}

/**
 * `create`, or `adopt` when it lost a race with another node creating the same stream:
 * nats-server 2.9 may refuse the second of two concurrent identical creates with
 * "subjects overlap with an existing stream" (10065) instead of accepting it (seen in
 * the concurrent-provisioning test, once in several CI runs). An overlap with a stream
 * of another name is still an error.
 */
async function createOrAdopt<T>(jsm: JetStreamManager, stream: string, create: () => Promise<T>, adopt: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (e) {
    if (!isSubjectOverlap(e) || (await streamInfo(jsm, stream)) === null) throw e;
    return adopt();
  }
}

/**
 * Info of a stream we just created or found. On a 2.9 cluster the server we talk to
 * may not have applied the create yet and says "stream not found": ask again.
 */
function readCreated(jsm: JetStreamManager, stream: string): Promise<StreamInfo> {
  return step(stream, `read stream ${stream}`, () => jsm.streams.info(stream), isStreamNotFound);
}

// ---------------------------------------------------------------------------
// Cluster configuration

async function ensureClusterConfig(kv: KV, partitions: number): Promise<ClusterConfig> {
  const resource = `${KV_CLUSTER}/${CLUSTER_CONFIG_KEY}`;
  const mine: ClusterConfig = { partitions, createdAt: new Date().toISOString() };
  try {
    // A retry after a timeout may find our own first attempt's value: adopting it is right.
    await retrying(() => kv.create(CLUSTER_CONFIG_KEY, JSON.stringify(mine)));
    return mine;
  } catch (e) {
    if (!isWrongLastSequence(e)) throw new ProvisionError("provision_failed", resource, `cannot create ${resource}: ${errorText(e)}`, { cause: e });
  }
  // Another node created it first (now or long ago): adopt it if it agrees.
  const entry = await step(resource, `read ${resource}`, () => kv.get(CLUSTER_CONFIG_KEY));
  if (entry === null || entry.operation !== "PUT") {
    throw new ProvisionError("cluster_config_invalid", resource, `${resource} exists but has no value (deleted by hand?)`);
  }
  const cluster = parseClusterConfig(entry.value);
  if (cluster.partitions !== partitions) throw new ClusterConfigMismatchError(partitions, cluster);
  return cluster;
}

function parseClusterConfig(bytes: Uint8Array): ClusterConfig {
  const resource = `${KV_CLUSTER}/${CLUSTER_CONFIG_KEY}`;
  let v: Partial<ClusterConfig>;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<ClusterConfig>;
  } catch (e) {
    throw new ProvisionError("cluster_config_invalid", resource, `${resource} is not JSON`, { cause: e });
  }
  const p = v.partitions;
  if (typeof p !== "number" || !Number.isSafeInteger(p) || p < 1 || p > PARTITIONS_MAX || typeof v.createdAt !== "string") {
    throw new ProvisionError("cluster_config_invalid", resource, `${resource} is malformed: ${JSON.stringify(v)}`);
  }
  return { partitions: p, createdAt: v.createdAt };
}

// ---------------------------------------------------------------------------
// Errors, races and retries

/** Runs one provisioning step with retries; a failure names the resource and what was being done. */
async function step<T>(resource: string, what: string, fn: () => Promise<T>, alsoTransient?: (e: unknown) => boolean): Promise<T> {
  try {
    return await retrying(fn, alsoTransient);
  } catch (e) {
    throw new ProvisionError("provision_failed", resource, `cannot ${what}: ${errorText(e)}`, { cause: e });
  }
}

/**
 * Runs `fn` again, with backoff, while it fails in a way that another node or the
 * cluster's own progress will clear: a request nobody answered yet (leaderless
 * stream), or a create that lost a race ("already in use": the next look-up finds it).
 */
async function retrying<T>(fn: () => Promise<T>, alsoTransient: (e: unknown) => boolean = () => false): Promise<T> {
  const L = PROVISION_LIMITS;
  const deadline = Date.now() + L.stepMsTimeout;
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const wait = Math.min(L.retryMsBackoffBase * 2 ** i, L.retryMsBackoffMax);
      if (!(isTransient(e) || alsoTransient(e)) || Date.now() + wait > deadline) throw e;
      await sleep(wait);
    }
  }
}

function isTransient(e: unknown): boolean {
  return (e instanceof Error && e.name === "TimeoutError") || isAlreadyInUse(e) || (e instanceof JetStreamApiError && e.code === CLUSTER_NOT_AVAILABLE);
}

/** JSClusterNotAvailErr: "JetStream system temporarily unavailable" (e.g. no meta leader). */
const CLUSTER_NOT_AVAILABLE = 10008;
/** JSStreamNameExistErr: "stream name already in use with a different configuration" (not in JetStreamApiCodes). */
const STREAM_NAME_EXISTS = 10058;

function isAlreadyInUse(e: unknown): boolean {
  if (e instanceof JetStreamApiError && e.code === STREAM_NAME_EXISTS) return true;
  return e instanceof Error && /already in use/i.test(e.message);
}

/** JSStreamSubjectOverlapErr: "subjects overlap with an existing stream". */
const SUBJECT_OVERLAP = 10065;

function isSubjectOverlap(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === SUBJECT_OVERLAP;
}

function isStreamNotFound(e: unknown): boolean {
  if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound) return true;
  return e instanceof Error && e.message === "stream not found";
}

function isWrongLastSequence(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = e instanceof JetStreamApiError ? ` [${e.code}]` : "";
  return `${e.message}${code}`;
}
