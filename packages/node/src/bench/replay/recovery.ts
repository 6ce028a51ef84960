/**
 * One recovery of the filled partition, by the node's own partition loop
 * (PartitionRunner) in this process: newest snapshot from the object store,
 * last output position from BOURSE_OUT, an ordered consumer from lastInSeq + 1,
 * intake and engine.apply of every command, output suppressed because it is
 * already durable, and snapshots stored on the node's schedule meanwhile. It
 * is timed from the runner's own log lines:
 *
 *   start ── "partition recovering" ── "partition serving"
 *     load: output position, snapshot      replay: consumer + every command
 *
 * then the runner is stopped (no handoff) and its snapshot writes are awaited.
 * If the runner never logs "serving" although every command was applied (see
 * RecoveryRun.servingLogged), the replay ends at the last command applied.
 * BOURSE_BENCH_DEBUG=1 prints the runner's log lines on stderr.
 */
import type { ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { defaultNodeConfig, type NodeConfig } from "../../config.js";
import type { Log, PartitionDeps, PartitionObserver, PartitionTuning } from "../../partition/deps.js";
import { PartitionRunner } from "../../partition/partition-runner.js";
import { SnapshotGate } from "../../partition/snapshot-gate.js";
import { JsAckPublisher } from "../../partition/ack-publisher.js";
import type { ClusterHandles } from "../../provision.js";
import type { CpuSampler, CpuShares } from "../common/cpu.js";

/** The batch the runner consumes with (partition-runner.ts: consume({ max_messages: 2_000 })). */
export const CONSUME_BATCH = 2_000;
/** A recovery that is not serving after this long failed. */
const RECOVERY_MS_TIMEOUT = 30 * 60_000;
/** Every command applied and still not serving after this long: the runner missed the end of its backlog. */
const SERVING_MS_GRACE = 5_000;
/** Nothing applied for this long before every command was: the recovery is stuck. */
const STALL_MS_TIMEOUT = 60_000;

export interface RecoveryRun {
  /** Construction of the runner to "partition serving" (the node logs this as recoveryMs). */
  recoveryMs: number;
  /** To "partition recovering": output position read, snapshot fetched and decoded. */
  loadMs: number;
  /** "partition recovering" to "partition serving": consumer created, every command applied. */
  replayMs: number;
  replayed: number;
  events: number;
  /** Input sequence the engine started from (the snapshot's) and ended at. */
  fromInSeq: number;
  lastInSeq: number;
  /** Snapshots the runner stored while replaying, and their total time (encode, drain, store). */
  snapshots: number;
  snapshotMs: number;
  snapshotBytes: number;
  /** Cores used by the nats-server and this process from "partition recovering" to the end of the replay. */
  cpu: CpuShares;
  /**
   * Whether the runner logged "partition serving". A runner that decided it was
   * caught up from the consumer's pending counts stayed "recovering" on an idle
   * partition when nats-server 2.9 over-counted them (nats-io/nats-server#5367);
   * should that happen, the replay ends at the last command applied, and a note
   * says so.
   */
  servingLogged: boolean;
  /** Warnings and errors the runner logged: a problem with the run. */
  errors: string[];
  /** What the bench noticed about the node's behaviour that does not invalidate the figures. */
  notes: string[];
}

/**
 * The tuning a node with `cfg` gives its partitions (BourseNode.tuning), so the
 * bench recovers with exactly the node's batch, backlog and snapshot settings.
 */
export function nodeTuning(cfg: NodeConfig = defaultNodeConfig): PartitionTuning {
  return {
    partitions: cfg.partitions, batchEventsMax: cfg.batchEventsMax, flushMsInterval: cfg.flushMsInterval,
    publishMsTimeout: cfg.publishMsTimeout, publishAttemptsMax: 5, snapshotCommandsEvery: cfg.snapshotCommandsEvery,
    snapshotMsEvery: cfg.snapshotMsEvery, backlogEventsMax: cfg.batchEventsMax * 20, engine: cfg.engine, testSwitches: cfg.testSwitches,
  };
}

export async function recoverOnce(
  nc: NatsConnection, handles: ClusterHandles, p: number, tuning: PartitionTuning, expected: number, cpu: CpuSampler,
): Promise<RecoveryRun> {
  let shares: CpuShares | undefined;
  const marks: Record<string, { at: number; obj: Record<string, unknown> }> = {};
  const errors: string[] = [];
  const notes: string[] = [];
  let wake: () => void = () => {};
  const log = captureLog((level, obj, msg) => {
    if (process.env["BOURSE_BENCH_DEBUG"]) process.stderr.write(`[runner] ${level} ${msg ?? ""} ${JSON.stringify(obj)}\n`);
    if (msg === "partition recovering" || msg === "partition serving") marks[msg] = { at: performance.now(), obj };
    if (msg === "partition recovering") cpu.start();
    if (msg === "partition serving") shares ??= cpu.stop();
    if (msg === "partition serving") wake();
    if (level === "error" || level === "warn") errors.push(`${msg ?? ""} ${JSON.stringify(obj)}`);
  });
  const counts = { commands: 0, events: 0, snapshots: 0, snapshotMs: 0, snapshotBytes: 0, lastPending: -1, appliedAllAt: 0, progressAt: performance.now() };
  const observer: PartitionObserver = {
    commands: (_p, n) => {
      counts.commands += n;
      counts.progressAt = performance.now();
      if (counts.commands === expected) {
        counts.appliedAllAt = performance.now();
        if (marks["partition recovering"]) shares ??= cpu.stop();
        wake();
      }
    },
    events: (_p, n) => void (counts.events += n),
    batch: () => {},
    lag: (_p, pending) => void (counts.lastPending = pending),
    snapshot: (_p, ms, bytes) => {
      counts.snapshots++;
      counts.snapshotMs += ms;
      counts.snapshotBytes = bytes;
    },
    fenced: () => {},
    deadLetter: () => {},
  };
  const store = new TrackedStore(handles.snapshots);
  const acks = new JsAckPublisher(nc);
  const deps: PartitionDeps = { nc, js: handles.js, jsm: handles.jsm, snapshots: store.asObjectStore(), log, observer, nodeId: "bench-replay", snapshotGate: new SnapshotGate(), acks };
  const started = performance.now();
  const runner = new PartitionRunner(p, deps, tuning, 1);
  let ended = false;
  const done = runner.run().finally(() => {
    ended = true;
    wake();
  });
  let servingLogged = true;
  try {
    for (;;) {
      if (marks["partition serving"] || ended) break;
      if (performance.now() - started > RECOVERY_MS_TIMEOUT) throw new Error(`not serving after ${RECOVERY_MS_TIMEOUT} ms`);
      if (counts.appliedAllAt === 0 && performance.now() - counts.progressAt > STALL_MS_TIMEOUT) {
        const stage = marks["partition recovering"] ? "after \"partition recovering\"" : "before \"partition recovering\" (output position or snapshot)";
        throw new Error(`recovery stuck ${stage}: ${counts.commands} of ${expected} commands applied, none for ${STALL_MS_TIMEOUT} ms`);
      }
      if (counts.appliedAllAt > 0 && performance.now() - counts.appliedAllAt > SERVING_MS_GRACE) {
        // Every command is applied but the runner still says "recovering" (see RecoveryRun.servingLogged).
        servingLogged = false;
        break;
      }
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100).unref();
      });
    }
    if (ended && !marks["partition serving"]) await done; // throws the loop's failure
  } finally {
    if (!servingLogged) notes.push(`all ${expected} commands applied but the runner never logged "partition serving" (last message's pending: ${counts.lastPending})`);
    await runner.stop(false);
    await done.catch((e: unknown) => errors.push(`partition loop: ${String(e)}`));
    await store.settled();
    acks.close();
  }
  const rec = marks["partition recovering"]!;
  const end = marks["partition serving"]?.at ?? counts.appliedAllAt;
  return {
    recoveryMs: end - started,
    loadMs: rec.at - started,
    replayMs: end - rec.at,
    replayed: counts.commands,
    events: counts.events,
    fromInSeq: Number(rec.obj["lastInSeq"]),
    lastInSeq: runner.lastInSeq,
    snapshots: counts.snapshots,
    snapshotMs: counts.snapshotMs,
    snapshotBytes: counts.snapshotBytes,
    cpu: shares ?? {},
    servingLogged,
    errors,
    notes,
  };
}

type Sink = (level: "debug" | "info" | "warn" | "error", obj: Record<string, unknown>, msg: string | undefined) => void;

/** A Log that hands every line to `sink` (bindings merged in), printing nothing. */
function captureLog(sink: Sink, bindings: Record<string, unknown> = {}): Log {
  const at = (level: Parameters<Sink>[0]) => (obj: object, msg?: string) => sink(level, { ...bindings, ...(obj as Record<string, unknown>) }, msg);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: (b) => captureLog(sink, { ...bindings, ...b }) };
}

/** The snapshot store, with the runner's writes tracked so a run can wait for them before the next one starts. */
class TrackedStore {
  private readonly writes = new Set<Promise<unknown>>();

  constructor(private readonly store: ObjectStore) {}

  asObjectStore(): ObjectStore {
    const store = this.store;
    const writes = this.writes;
    return new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== "put") {
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return (...args: Parameters<ObjectStore["put"]>) => {
          const w = target.put(...args);
          writes.add(w);
          void w.catch(() => {}).finally(() => writes.delete(w));
          return w;
        };
      },
    });
  }

  async settled(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }
}
