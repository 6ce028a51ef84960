import type { NatsConnection } from "@nats-io/transport-node";
import { encodeValue } from "@bourse/engine";
import { AssignmentAgreement, type AssignmentTable } from "./assignment-agreement.js";
import { ConfigError, validateConfig, type NodeConfig } from "./config.js";
import { ConnectionMonitor, connectNats } from "./connection.js";
import { startHttpServer, type HealthReport, type HttpServerHandle } from "./http-server.js";
import { PartitionLeases } from "./lease.js";
import { createLogger, type Logger } from "./logger.js";
import { LIVENESS_INFO, answerLiveness, livenessProbe } from "./liveness.js";
import { Membership } from "./membership.js";
import { createMetrics, type NodeMetrics } from "./metrics.js";
import type { PartitionDeps, PartitionObserver, PartitionTuning } from "./partition/deps.js";
import { RollbackSpill } from "./partition/rollback-spill.js";
import { SnapshotGate } from "./partition/snapshot-gate.js";
import { JsAckPublisher } from "./partition/ack-publisher.js";
import { PartitionSupervisor } from "./partition-supervisor.js";
import { subjects } from "./protocol.js";
import { PreparingPartitions, answerReleases, requestRelease, type ReleaseReply } from "./handoff-request.js";
import type { Subscription } from "@nats-io/transport-node";
import { provision, type ClusterHandles } from "./provision.js";
import { checkConnectedServer } from "./server-version.js";

/** The node's rollback spill directory; a directory that cannot be made is a configuration error. */
function openSpill(root: string, minBytes: number): RollbackSpill {
  try {
    return RollbackSpill.open(root, minBytes);
  } catch (e) {
    throw new ConfigError("rollbackDir", `cannot hold the node's spill directory (${(e as Error).message})`, { cause: e });
  }
}

/** Wait before a fenced partition that the table still assigns here is taken again. */
const FENCED_RETRY_MS = 200;
/**
 * A partition whose loop gave up (partitionRestartsMax consecutive failures: its lease
 * released, an alert published) is taken again after this long while the table still
 * gives it to this node. Nobody else takes it before the membership changes, so giving
 * up for good left it unserved: a `bourse sim --nats-faults` run lost six partitions
 * that way when NATS elections outlasted the five quick restarts.
 */
const GAVE_UP_RETRY_MS = 30_000;
/**
 * How long a partition moving off this node (SIGTERM, or a table that gives it to another
 * node) keeps being served while its successor prepares, at most: the successor's release
 * request ends the wait (handoff-request.ts). Without a request by then (no other node, a
 * successor of an older version, or one that died) it is handed off the ordinary way.
 * Shorter than a successor's own wait for a live owner's release (3 s, HANDOFF_MS_WAIT in
 * partition-supervisor.ts), so that a successor that only waits (an older version) finds
 * the partition released rather than taking it over.
 */
const HANDOFF_PREPARE_MS_MAX = 2_500;
/** A successor waits this long for its release request's answer (the previous owner's flush and release). */
const RELEASE_REQUEST_MS_TIMEOUT = 3_000;
/** A release request that comes before this node's own table moved the partition waits this long for it. */
const RELEASE_TABLE_MS_WAIT = 1_000;
/**
 * Partitions moving off this node switch together: a release request is answered once
 * every departing partition's successor has asked, or this long after it came. Each
 * successor asks only when its node has prepared all it takes (handoff-request.ts,
 * PreparingPartitions), so by then no consumer is being created anywhere: on
 * nats-server 2.9 a consumer creation holds up other partitions' acknowledgements, and
 * a partition switching during another node's creations waited ~100 ms for its flush
 * (bench failover, 2026-11-27).
 */
const RELEASE_TOGETHER_MS_WAIT = 500;

/** A partition moving off this node: served until its successor asks or the wait ends, then handed off. */
interface Departure {
  supervisor: PartitionSupervisor;
  /** Hands off now (idempotent); resolves with the last command applied. */
  go(snapshot: boolean): Promise<number>;
  /** Where durable output ended, once handed off with every batch acknowledged. */
  position(): { lastSeq: number; streamSeq: number } | null;
  /** Keeps the partition here, if the hand-off has not begun; true when it was kept. */
  cancel(): boolean;
  /** Its successor asked for it (release()). */
  requested: boolean;
  done: Promise<number>;
}

/**
 * A Bourse cluster node (DESIGN.md, Cluster). Joins the membership, agrees on the
 * partition table with the other nodes (ADR 0002), and runs one supervised
 * partition loop per partition the table gives it. Supervision level 3 is the
 * cluster itself: when a member stops heartbeating, the survivors rebalance its
 * partitions and take their leases.
 */
export class BourseNode {
  private readonly supervisors = new Map<number, PartitionSupervisor>();
  /** Partitions moving off this node, still served until their successors ask (Departure). */
  private readonly departing = new Map<number, Departure>();
  private releases: Subscription | null = null;
  /** Partitions of this node preparing a handoff (handoff-request.ts). */
  private readonly preparing = new PreparingPartitions();
  private table: AssignmentTable | undefined;
  private shuttingDown = false;
  private joined = false;
  /** One snapshot encoding at a time across this node's partitions (partition/snapshot-gate.ts). */
  private readonly snapshotGate = new SnapshotGate();
  /** Output batches' acknowledged publishes (partition/ack-publisher.ts); made with the first partition. */
  private ackPublisher: JsAckPublisher | null = null;

  private constructor(
    readonly cfg: NodeConfig,
    readonly log: Logger,
    readonly metrics: NodeMetrics,
    private readonly nc: NatsConnection,
    private readonly monitor: ConnectionMonitor,
    private readonly handles: ClusterHandles,
    private readonly membership: Membership,
    private readonly agreement: AssignmentAgreement,
    private readonly leases: PartitionLeases,
    private http: HttpServerHandle | null,
    private readonly spill: RollbackSpill | null,
  ) {}

  static async start(cfg: NodeConfig, log: Logger = createLogger(cfg)): Promise<BourseNode> {
    validateConfig(cfg);
    const spill = cfg.rollbackSpillBytes > 0 ? openSpill(cfg.rollbackDir, cfg.rollbackSpillBytes) : null;
    try {
      return await BourseNode.startWith(cfg, log, spill);
    } catch (e) {
      spill?.close();
      throw e;
    }
  }

  private static async startWith(cfg: NodeConfig, log: Logger, spill: RollbackSpill | null): Promise<BourseNode> {
    const nc = await connectNats(cfg, `bourse-node-${cfg.id}`);
    const monitor = new ConnectionMonitor(nc, (state, detail) => log.warn({ state, detail }, "NATS connection state"));
    for (const w of checkConnectedServer(nc)) log.warn({ code: w.code }, w.message);
    const handles = await provision(nc, cfg);
    for (const w of handles.warnings) log.warn({}, w);
    const metrics = createMetrics();
    // Before the first heartbeat: a peer that hears us must find our liveness subscription.
    await answerLiveness(nc, cfg.id);
    const membership = new Membership({
      kv: handles.kvMembers, id: cfg.id, info: { httpPort: cfg.httpPort, ...LIVENESS_INFO }, logger: log,
      heartbeatMsInterval: cfg.heartbeatMsInterval, failureMsTimeout: cfg.failureMsTimeout,
      probe: livenessProbe(nc, Math.max(cfg.heartbeatMsInterval, 100)),
    });
    const agreement = new AssignmentAgreement({ kv: handles.kvLeases, id: cfg.id, partitions: cfg.partitions, logger: log });
    const leases = new PartitionLeases({ kv: handles.kvLeases, id: cfg.id, logger: log });
    const node = new BourseNode(cfg, log, metrics, nc, monitor, handles, membership, agreement, leases, null, spill);
    node.releases = answerReleases(nc, cfg.id, (p) => node.release(p));
    node.http = await startHttpServer({ port: cfg.httpPort, metrics, health: () => node.health() });
    await node.join();
    log.info({ partitions: cfg.partitions, httpPort: node.http.port, servers: cfg.servers }, "node started");
    return node;
  }

  get httpPort(): number {
    return this.http?.port ?? 0;
  }

  owned(): number[] {
    return [...this.supervisors.keys()].sort((a, b) => a - b);
  }

  health(): HealthReport {
    return {
      nats: this.monitor.state,
      provisioned: true,
      joined: this.joined,
      shuttingDown: this.shuttingDown,
      partitions: [...this.supervisors.values(), ...[...this.departing.values()].map((d) => d.supervisor)].map((s) => s.health()),
    };
  }

  /**
   * Graceful shutdown. The node announces it is leaving, so the others give its partitions
   * to successors, and serves each partition until its successor, prepared, asks for it
   * (or HANDOFF_PREPARE_MS_MAX passes); then flushes and releases it. Then it leaves.
   */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log.info({ partitions: this.owned() }, "shutting down: handing partitions off");
    const started = performance.now();
    let waitMs = 0;
    if (this.supervisors.size > 0) {
      try {
        await this.membership.announceLeaving();
        // Alone, nobody will ask: hand off (snapshot, release) at once.
        waitMs = this.membership.live().length > 1 ? HANDOFF_PREPARE_MS_MAX : 0;
      } catch (e) {
        this.log.warn({ err: e }, "could not announce leaving; handing partitions off without waiting for successors");
      }
    }
    for (const [p, s] of this.supervisors) this.depart(p, s, waitMs);
    this.supervisors.clear();
    // Nobody left to ask (every other node is leaving too, as when a whole cluster stops):
    // hand off the ordinary way now instead of waiting out HANDOFF_PREPARE_MS_MAX.
    const alone = setInterval(() => {
      if (this.membership.live().length > 1) return;
      for (const d of this.departing.values()) if (!d.requested) void d.go(true);
    }, 20);
    await Promise.all([...this.departing.values()].map((d) => d.done));
    clearInterval(alone);
    await this.membership.leave().catch((e: unknown) => this.log.warn({ err: e }, "leave failed"));
    this.releases?.unsubscribe();
    await this.agreement.stop();
    await this.leases.stop();
    await this.http?.close();
    this.ackPublisher?.close();
    await this.nc.drain().catch(() => {});
    this.spill?.close();
    this.log.info({ ms: Math.round(performance.now() - started) }, "node stopped");
  }

  /**
   * Partition p moves off this node: keep serving it until its successor asks (release())
   * or `waitMs` passes, then flush, snapshot unless the successor prepared, and release.
   */
  private depart(p: number, s: PartitionSupervisor, waitMs: number): Departure {
    let begun: Promise<number> | null = null;
    let kept = false;
    let settle!: (n: number) => void;
    const done = new Promise<number>((r) => (settle = r));
    const d: Departure = {
      supervisor: s,
      done,
      requested: false,
      position: () => s.handoffPosition,
      go: (snapshot) => {
        begun ??= (async () => {
          clearTimeout(timer);
          await s.stop(true, snapshot);
          if (this.departing.get(p) === d) this.departing.delete(p);
          const lastInSeq = s.lastInSeq;
          settle(lastInSeq);
          return lastInSeq;
        })();
        return begun;
      },
      cancel: () => {
        if (begun !== null || s.ended) return false;
        kept = true;
        clearTimeout(timer);
        this.departing.delete(p);
        settle(s.lastInSeq);
        return true;
      },
    };
    const timer = setTimeout(() => void d.go(true), waitMs);
    this.departing.set(p, d);
    // A loop that ends by itself meanwhile (fenced: the successor took over) has nothing left to hand off.
    void s.done.then(() => {
      if (!kept) void d.go(true);
    });
    return d;
  }

  /** A successor's release request for p (handoff-request.ts). */
  private async release(p: number): Promise<ReleaseReply> {
    if (!this.departing.has(p) && this.supervisors.has(p)) {
      // The successor may have seen the new table first: give ours a moment to catch up.
      const end = performance.now() + RELEASE_TABLE_MS_WAIT;
      while (!this.departing.has(p) && this.supervisors.has(p) && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
      if (!this.departing.has(p) && this.supervisors.has(p)) return { released: false, reason: `partition ${p} is still assigned to ${this.cfg.id}` };
    }
    const d = this.departing.get(p);
    if (d === undefined) return { released: true };
    d.requested = true;
    const end = performance.now() + RELEASE_TOGETHER_MS_WAIT;
    while (performance.now() < end && [...this.departing.values()].some((x) => !x.requested)) await new Promise((r) => setTimeout(r, 5));
    const lastInSeq = await d.go(false);
    const output = d.position();
    this.log.info({ partition: p, lastInSeq, ...(output !== null ? { output } : {}) }, "partition released to its prepared successor");
    return { released: true, lastInSeq, ...(output !== null ? { output } : {}) };
  }

  private async join(): Promise<void> {
    this.agreement.on("assignment", (t) => this.reconcile(t));
    this.membership.on("change", (live) => {
      if (!this.shuttingDown) void this.agreement.update(live).catch((e: unknown) => this.log.warn({ err: e }, "assignment update failed"));
    });
    // The agreement must watch the table before membership changes ask it to update.
    await this.agreement.start();
    await this.membership.start();
    await this.agreement.update(this.membership.live());
    this.joined = true;
  }

  /** Starts the partitions the table gives this node and hands off those it no longer has. */
  private reconcile(t: AssignmentTable): void {
    if (this.shuttingDown) return;
    const prev = this.table;
    this.table = t;
    const mine = new Set<number>();
    t.owners.forEach((o, p) => o === this.cfg.id && mine.add(p));
    for (const [p, s] of this.supervisors) {
      if (mine.has(p)) continue;
      this.supervisors.delete(p);
      this.depart(p, s, HANDOFF_PREPARE_MS_MAX);
    }
    for (const p of mine) {
      if (this.supervisors.has(p)) continue;
      const d = this.departing.get(p);
      if (d !== undefined) {
        // Back before it left: keep it, or take it again once its hand-off is over.
        if (d.cancel()) this.supervisors.set(p, d.supervisor);
        else void d.done.then(() => this.resume(p));
        continue;
      }
      const before = prev?.owners[p];
      if (before !== undefined && before !== this.cfg.id && !t.members.includes(before)) this.metrics.failovers.inc();
      this.supervisors.set(p, this.supervise(p));
    }
    this.metrics.partitionsOwned.set(mine.size);
    this.log.info({ revision: t.revision, owned: [...mine] }, "assignment applied");
  }

  private supervise(p: number): PartitionSupervisor {
    const s = new PartitionSupervisor(
      p, this.deps(), this.tuning(), this.leases, this.cfg, this.metrics, this.log, (m, x) => this.alert(m, x),
      // A member the agreed table left out was found dead by whoever wrote it: no handoff will
      // come — unless it announced leaving, and hands off.
      (member) => this.membership.isLeaving(member) || (this.membership.live().includes(member) && (this.table?.members.includes(member) ?? true)),
      { ask: (holder, p) => requestRelease(this.nc, holder, p, RELEASE_REQUEST_MS_TIMEOUT), preparing: this.preparing },
      () => this.membership.isStale,
    );
    void s.done.then(() => {
      if (this.supervisors.get(p) !== s || this.shuttingDown) return;
      this.supervisors.delete(p);
      this.log.warn({ partition: p, reason: s.endReason }, "partition loop ended");
      // Fenced while the table still gives us p (we were paused, the table moved and came back):
      // the table is the authority, so take the partition again. A loop that gave up is taken
      // again after a pause, or by whoever a new table gives it to.
      if (s.endReason === "fenced") setTimeout(() => this.resume(p), FENCED_RETRY_MS).unref();
      else if (s.endReason === "gave_up") setTimeout(() => this.resume(p), GAVE_UP_RETRY_MS).unref();
    });
    return s;
  }

  private resume(p: number): void {
    if (this.shuttingDown || this.supervisors.has(p) || this.table?.owners[p] !== this.cfg.id) return;
    this.supervisors.set(p, this.supervise(p));
  }

  private alert(message: string, extra: Record<string, unknown>): void {
    this.nc.publish(subjects.alert, encodeValue({ level: "error", node: this.cfg.id, message, ...extra }));
  }

  private deps(): PartitionDeps {
    return {
      nc: this.nc, js: this.handles.js, jsm: this.handles.jsm, snapshots: this.handles.snapshots,
      log: this.log, observer: this.observer(), nodeId: this.cfg.id, snapshotGate: this.snapshotGate,
      acks: (this.ackPublisher ??= new JsAckPublisher(this.nc)),
      ...(this.spill !== null ? { rollbackSpill: this.spill } : {}),
    };
  }

  private tuning(): PartitionTuning {
    const c = this.cfg;
    return {
      partitions: c.partitions, batchEventsMax: c.batchEventsMax, flushMsInterval: c.flushMsInterval,
      publishMsTimeout: c.publishMsTimeout, publishAttemptsMax: 5, snapshotCommandsEvery: c.snapshotCommandsEvery,
      snapshotMsEvery: c.snapshotMsEvery, backlogEventsMax: c.batchEventsMax * 20, engine: c.engine, testSwitches: c.testSwitches,
    };
  }

  private observer(): PartitionObserver {
    const m = this.metrics;
    return {
      commands: (_p, n) => m.commands.inc(n),
      events: (_p, n) => m.events.inc(n),
      batch: (_p, events, bytes, ms) => {
        m.batches.inc();
        m.batchEvents.observe(events);
        m.batchBytes.observe(bytes);
        m.batchPublishSeconds.observe(ms / 1000);
      },
      lag: (p, pending) => m.lag.set({ partition: String(p) }, pending),
      snapshot: (p, ms) => {
        m.snapshotSeconds.observe(ms / 1000);
        m.snapshotLastTimestampSeconds.set({ partition: String(p) }, Date.now() / 1000);
      },
      fenced: () => m.fencing.inc({ kind: "sequence" }),
      deadLetter: () => m.deadLetters.inc(),
    };
  }
}
