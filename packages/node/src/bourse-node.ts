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
 * A Bourse cluster node (DESIGN.md, Cluster). Joins the membership, agrees on the
 * partition table with the other nodes (ADR 0002), and runs one supervised
 * partition loop per partition the table gives it. Supervision level 3 is the
 * cluster itself: when a member stops heartbeating, the survivors rebalance its
 * partitions and take their leases.
 */
export class BourseNode {
  private readonly supervisors = new Map<number, PartitionSupervisor>();
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
      partitions: [...this.supervisors.values()].map((s) => s.health()),
    };
  }

  /** Graceful shutdown: flush, snapshot and release every partition, then leave, so successors start at once. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log.info({ partitions: this.owned() }, "shutting down: handing partitions off");
    const started = performance.now();
    await Promise.all([...this.supervisors.values()].map((s) => s.stop(true)));
    this.supervisors.clear();
    await this.membership.leave().catch((e: unknown) => this.log.warn({ err: e }, "leave failed"));
    await this.agreement.stop();
    await this.leases.stop();
    await this.http?.close();
    this.ackPublisher?.close();
    await this.nc.drain().catch(() => {});
    this.spill?.close();
    this.log.info({ ms: Math.round(performance.now() - started) }, "node stopped");
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
      void s.stop(true);
    }
    for (const p of mine) {
      if (this.supervisors.has(p)) continue;
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
      // A member the agreed table left out was found dead by whoever wrote it: no handoff will come.
      (member) => this.membership.live().includes(member) && (this.table?.members.includes(member) ?? true),
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
