import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/transport-node";
import { PartitionEngine, encodeCommand, type FaultHook, type PartitionEngineOptions } from "@bourse/engine";
import { STREAM_IN, subjects } from "../protocol.js";
import { NO_MARKET_TOKEN, intake } from "./command-intake.js";
import { CommandConsumers } from "./command-consumers.js";
import { ConsumerWatchdog } from "./consumer-watchdog.js";
import type { PartitionSpill } from "./rollback-spill.js";
import type { Log, PartitionDeps, PartitionTuning } from "./deps.js";
import { OutputPublisher, type OutputPosition } from "./output-publisher.js";
import { readOutputPosition } from "./output-position.js";
import { serveQueries } from "./query-service.js";
import { SnapshotReadError, SnapshotReader, type SnapshotInfo } from "./snapshot-store.js";
import { PartitionSnapshots } from "./partition-snapshots.js";
import { restoreFromSnapshot } from "./snapshot-restore.js";

/** Period of the runner's housekeeping timer (snapshot due? GTD tick due?). */
const TIMER_MS = 100;
/** Nothing delivered for this long while a command waits in the log: the consumer is gone (consumer-watchdog.ts). */
const CONSUMER_STALL_MS = 3_000;
/** Orders and outcomes a restore decodes before it lets the event loop turn (~15 ms); recovery favours throughput. */
const RESTORE_SLICE_UNITS = 10_000;
/** The message loop lets the event loop turn once it has applied commands for this long. */
const APPLY_TURN_MS = 20;

export type RunnerState = "recovering" | "serving" | "stopping" | "stopped" | "failed";

/**
 * The partition loop (DESIGN.md, "Recovery"): newest snapshot, then the command
 * log from the snapshot's input sequence through an ordered consumer, into the
 * engine; output already durable is suppressed, the rest is batched out. The
 * same consumer carries on live once replay has caught up.
 *
 *   1. snapshot → engine        2. last output message → position (fencing token)
 *   3. ordered consumer from lastInSeq + 1
 *   4. intake (decode, subject checks) → engine.apply / engine.reject
 *   5. events → OutputPublisher (batched, fenced) → reports, market data, DLQ
 *   6. snapshots every N commands or T ms, stored once their output is durable
 */
export class PartitionRunner {
  state: RunnerState = "recovering";
  /** performance.now() when the runner became serving. */
  servingAt = 0;
  private engine!: PartitionEngine;
  private publisher!: OutputPublisher;
  private messages: ConsumerMessages | null = null;
  private querySub: Subscription | null = null;
  private stopRequested = false;
  private failure: Error | null = null;
  /** The partition's last command in the log when recovery started: serving once it is applied. */
  private caughtUpInSeq = 0;
  /** Recovery timings for the log lines: commands applied while recovering, snapshot read, consumer set-up. */
  private replayed = 0;
  private snapshotReadMs = 0;
  private tickInFlight = false;
  /** Counts since the metrics were last reported, and the consumer's last pending count (-1: none since). */
  private readonly unreported = { commands: 0, events: 0, pending: -1 };
  /** Taking this partition's snapshots (partition-snapshots.ts); made when the loop runs. */
  private snaps: PartitionSnapshots | null = null;
  /** Slices after which the restore's decoding let the event loop turn (for tests). */
  decodingSlices = 0;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private log: Log;
  private readonly snapshots: SnapshotReader;
  /** Recovery's first half (prepare()), once begun; the consumer it opened, until run() takes it. */
  private preparing: Promise<void> | null = null;
  private opening: Promise<ConsumerMessages> | null = null;
  /** The command consumers this runner opened (command-consumers.ts). */
  private readonly consumers: CommandConsumers;
  /** Whether prepare() had begun before run() (a prepared handoff), for the log lines. */
  private preparedBeforeRun = false;
  /** The restored snapshot's output sequence (0: none): checked against the durable output once the lease is ours. */
  private snapshotSeq = 0;
  private prepareMs = 0;
  /** The previous owner's durable output position from its handoff reply: run() need not read it. */
  private givenPosition: OutputPosition | null = null;
  /** Where this runner's durable output ended when a handoff's flush succeeded (for the successor). */
  private handedOffAt: OutputPosition | null = null;
  /** run() was called: the runner, not prepare()'s caller, owns the consumer from then on. */
  private running = false;
  private positionMs = 0;
  private restoreMs = 0;
  private readonly startedAt = performance.now();
  private readonly spill: PartitionSpill | null;

  constructor(
    readonly p: number,
    private readonly deps: PartitionDeps,
    private readonly tuning: PartitionTuning,
    /** The lease's epoch; 0 for a runner prepared before its lease (assignEpoch()). */
    public epoch: number,
  ) {
    this.log = deps.log.child({ partition: p, epoch });
    this.snapshots = new SnapshotReader(deps.jsm);
    this.consumers = new CommandConsumers(deps.js, p);
    this.spill = deps.rollbackSpill?.forPartition(p) ?? null;
  }

  /** Slices after which a snapshot's encoding let the event loop turn (for tests). */
  get encodingSlices(): number {
    return this.snaps?.encodingSlices ?? 0;
  }

  /**
   * Recovery's first half, which needs no lease: the snapshot's meta entry and the log's
   * last command read together, the command consumer opened at the snapshot's
   * lastInSeq + 1 while its chunks load and the engine restores. `run()` calls it; a
   * successor taking a partition from a live owner calls it first, while that owner
   * still serves (partition-supervisor.ts, "prepared handoff"), so that only the output
   * position and the commands logged since are left once the lease is its own. The
   * consumer holds what arrives meanwhile (up to one pull batch) until `run()` applies it.
   */
  prepare(): Promise<void> {
    this.preparing ??= this.prepareNow(true);
    return this.preparing;
  }

  /** `withConsumer`: resolve once the consumer is open too (a prepared handoff); run() awaits it itself. */
  private async prepareNow(withConsumer: boolean): Promise<void> {
    const started = performance.now();
    const [info, lastLogged] = await Promise.all([
      this.snapshots.info(this.p).catch((e: unknown) => {
        if (e instanceof SnapshotReadError) return e;
        throw e;
      }),
      this.deps.jsm.streams.getMessage(STREAM_IN, { last_by_subj: subjects.inPartition(this.p) }),
    ]);
    // Caught up once the last command that was in the log at start is applied. (Counts
    // are not reliable on nats-server < 2.10: with a filter and a start sequence both the
    // consumer's num_pending and the per-message pending can exceed what is delivered by
    // one or two, forever; see nats-io/nats-server#5367. Stream sequences are exact.)
    this.caughtUpInSeq = Math.max(this.caughtUpInSeq, lastLogged?.seq ?? 0);
    const usable = info !== null && !(info instanceof SnapshotReadError);
    const startSeq = usable ? info.lastInSeq + 1 : 1;
    this.opening = this.consumers.open(startSeq);
    try {
      this.engine = await this.restore(info);
    } catch (e) {
      this.dropConsumer();
      throw e;
    }
    this.snapshotSeq = this.engine.lastSeq;
    if (this.engine.lastInSeq + 1 !== startSeq) {
      this.dropConsumer();
      this.opening = this.consumers.open(this.engine.lastInSeq + 1);
    }
    // Prepared means the consumer is open too: its creation, a scan of the shared log on
    // nats-server 2.9, is what a successor most wants done before it asks for the partition.
    if (withConsumer) {
      try {
        await this.opening;
      } catch (e) {
        this.dropConsumer();
        throw e;
      }
    }
    this.prepareMs = performance.now() - started;
    // Stopped while preparing, before any run(): nothing will take the consumer.
    if (this.stopRequested && !this.running) this.dropConsumer();
  }

  /**
   * The previous owner handed off having applied commands up to `inSeq` (its reply to the
   * release request): serve only once this runner has applied them too.
   */
  expectApplied(inSeq: number): void {
    if (this.state === "recovering") this.caughtUpInSeq = Math.max(this.caughtUpInSeq, inSeq);
  }

  /**
   * The previous owner's output position, from its handoff reply (after its flush): run()
   * starts from it instead of reading the stream. Were it stale, the first output publish
   * would be refused (expected last sequence) and the loop restart the ordinary way.
   */
  startFromPosition(position: OutputPosition): void {
    if (!this.running) this.givenPosition = { lastSeq: position.lastSeq, streamSeq: position.streamSeq };
  }

  /** Where durable output ended when this runner handed off with every batch acknowledged; null otherwise. */
  get handoffPosition(): OutputPosition | null {
    return this.handedOffAt;
  }

  /** The lease's epoch, once acquired: it fences this runner's output (set before `run()`). */
  assignEpoch(epoch: number): void {
    if (this.publisher !== undefined) throw new Error(`partition ${this.p}: epoch assigned after the runner started`);
    this.epoch = epoch;
    this.log = this.deps.log.child({ partition: this.p, epoch });
  }

  /**
   * Recovers (prepare(), if not done yet, with the output position read alongside), then
   * serves until stopped (resolves) or failed (rejects). Should the snapshot be ahead of
   * the durable output (it cannot be trusted), the engine starts empty and the consumer is
   * reopened at the start of the log.
   */
  async run(): Promise<void> {
    const runAt = performance.now();
    this.preparedBeforeRun = this.preparing !== null;
    this.running = true;
    let position: OutputPosition;
    const given = this.givenPosition;
    const readPosition = async (): Promise<OutputPosition> => {
      const r = given ?? (await readOutputPosition(this.deps, this.p));
      this.positionMs = performance.now() - runAt;
      return r;
    };
    try {
      [, position] = await Promise.all([(this.preparing ??= this.prepareNow(false)), readPosition()]);
    } catch (e) {
      this.dropConsumer();
      throw e;
    }
    if (this.snapshotSeq > position.lastSeq) {
      // A snapshot is stored only after its output is durable; one that is ahead cannot be trusted.
      this.log.error({ snapshotSeq: this.snapshotSeq, durableSeq: position.lastSeq }, "snapshot is ahead of durable output; replaying from the start");
      this.dropConsumer();
      this.engine = new PartitionEngine(this.engineOptions());
      this.snapshotSeq = 0;
      this.opening = this.consumers.open(1);
    }
    const opening = this.opening!;
    this.publisher = new OutputPublisher(this.p, this.deps, this.tuning, this.epoch, position, (e) => this.fail(e));
    const snaps = (this.snaps = new PartitionSnapshots(this.p, this.deps, this.tuning, this.log, {
      engine: () => this.engine,
      mayTake: () => this.state === "serving" && !this.stopRequested,
      stopping: () => this.stopRequested,
      drainOutput: () => this.publisher.drain(),
      stored: (bytes) => this.spillCheckpoint(this.engine, bytes),
    }));
    // Where recovery time goes (bourse bench failover reads these): output position (with the
    // snapshot's meta entry and the log's end, read together), snapshot read, engine restore.
    // A prepared runner (handoff) did the snapshot part before its lease: `prepareMs`.
    const timings = {
      ...(given !== null ? { positionGiven: true } : {}),
      positionMs: ms(this.positionMs), snapshotReadMs: ms(this.snapshotReadMs), restoreMs: ms(this.restoreMs),
      ...(this.preparedBeforeRun ? { preparedMs: ms(this.prepareMs) } : {}),
    };
    this.log.info({ lastInSeq: this.engine.lastInSeq, lastSeq: this.engine.lastSeq, durableSeq: position.lastSeq, ...timings }, "partition recovering");
    if (this.caughtUpInSeq <= this.engine.lastInSeq) this.markServing();
    try {
      this.messages = await opening;
    } catch (e) {
      this.publisher.stop();
      this.querySub?.unsubscribe();
      this.querySub = null;
      throw e;
    }
    if (this.stopRequested) {
      this.messages.stop();
      return this.finish();
    }
    const watchdog = new ConsumerWatchdog(this.deps.jsm, this.p, CONSUMER_STALL_MS, (e) => {
      this.log.error({ err: e }, "command consumer stalled; restarting the partition loop");
      this.fail(e);
    }, this.engine.lastInSeq);
    this.snapshotTimer = setInterval(() => {
      this.reportMetrics();
      snaps.tick();
      this.maybeTick();
      if (snaps.encoding !== null) watchdog.holding();
      else if (this.publisher.backlog <= this.tuning.backlogEventsMax) watchdog.check(this.engine.lastInSeq);
    }, TIMER_MS);
    this.snapshotTimer.unref();
    try {
      await this.consume(this.messages);
    } catch (e) {
      // The consumer gave up (nats.js ends an ordered consumer's iterator with the error
      // when it cannot re-create it) or applying threw (SequenceError on a message out of
      // order): the loop fails, and finish() still stops its timer, publisher and query
      // subscription. Before, such a runner's timer outlived it: its watchdog logged a
      // stall every 100 ms and asked NATS for the partition's next command each time, and
      // its query subscription went on answering from its stale engine.
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
    return this.finish();
  }

  /** The message loop: applies each delivered command until stopped or failed. */
  private async consume(messages: ConsumerMessages): Promise<void> {
    let applied = 0;
    let turnAt = performance.now();
    for await (const m of messages) {
      while (this.snaps!.encoding !== null) await this.snaps!.encoding;
      if (this.stopRequested) break;
      this.apply(m);
      if (this.failure) break;
      if (this.publisher.backlog > this.tuning.backlogEventsMax) await this.publisher.drain().catch(() => {});
      // A pull batch (up to 2,000 messages) is delivered through promises that are already
      // resolved: without this, the whole batch was applied before a timer or socket read
      // could run (bench memory: the node's event loop blocked for 110–150 ms at a time).
      // The clock is read every 64 commands; the loop yields once it has run APPLY_TURN_MS.
      if ((++applied & 63) === 0 && performance.now() - turnAt >= APPLY_TURN_MS) {
        await new Promise<void>((r) => setImmediate(r));
        turnAt = performance.now();
      }
    }
  }

  /** Closes the consumer that prepare() opened, if run() has not taken it. */
  private dropConsumer(): void {
    const opening = this.opening;
    this.opening = null;
    void opening?.then((m) => this.consumers.close(m), () => {});
  }

  /**
   * Stops consuming; with `handoff`, flushes output and stores a snapshot, unless nothing
   * was applied since the last one, so a successor starts at once. (Skipping it for a few
   * commands was tried: on nats-server 2.9 a successor's replay of even a few commands
   * scans the whole stretch of the shared log since the snapshot, and bench failover's
   * recoveries slowed from p50 ~300 to ~420 ms as such stretches accumulated.) A successor
   * that prepared before asking for the partition (`snapshot` false) has its consumer open
   * already, holding those commands: no snapshot, the successor serves sooner.
   * A runner prepared but never run just closes what it opened.
   */
  async stop(handoff: boolean, snapshot = true): Promise<void> {
    if (this.state === "stopped" || this.state === "failed") return;
    this.state = "stopping";
    this.stopRequested = true;
    if (!this.running) {
      this.dropConsumer();
      void this.spill?.discard();
      this.state = "stopped";
      return;
    }
    this.querySub?.unsubscribe();
    this.querySub = null;
    this.messages?.stop();
    if (!handoff || !this.engine || !this.publisher || this.failure) return;
    await this.publisher.drain();
    if (this.failure === null) this.handedOffAt = { lastSeq: this.publisher.position.lastSeq, streamSeq: this.publisher.position.streamSeq };
    if (snapshot) await this.snaps?.beforeHandoff();
  }

  get lastInSeq(): number {
    return this.engine?.lastInSeq ?? 0;
  }

  private engineOptions(): PartitionEngineOptions {
    return {
      partition: this.p,
      ...this.tuning.engine,
      ...this.faultHook(),
      ...(this.tuning.testSwitches.noIdempotency === true ? { testNoIdempotency: true } : {}),
    };
  }

  /** The engine from the newest readable snapshot (snapshot-restore.ts), its read and decode timed; a restored one's bytes are spilled. */
  private async restore(info: SnapshotInfo | SnapshotReadError | null): Promise<PartitionEngine> {
    const sliceUnits = this.tuning.snapshotSliceUnits ?? RESTORE_SLICE_UNITS;
    const r = await restoreFromSnapshot(this.p, this.snapshots, info, this.engineOptions(), sliceUnits, this.log, () => this.decodingSlices++);
    this.snapshotReadMs = r.readMs;
    this.restoreMs = r.decodeMs;
    // An idle partition may take no snapshot for a long time: its restored bytes go now.
    if (r.bytes !== null) void this.spillCheckpoint(r.engine, r.bytes);
    return r.engine;
  }

  /** Moves a big rollback point out of memory (RollbackSpill); on failure it stays where it is. */
  private async spillCheckpoint(engine: PartitionEngine, bytes: Uint8Array): Promise<void> {
    if (this.spill === null) return;
    try {
      await this.spill.spillFrom(engine, bytes);
    } catch (e) {
      this.log.warn({ err: e, bytes: bytes.length }, "rollback point kept in memory: spilling it failed");
    }
  }

  private faultHook(): { faultHook?: FaultHook } {
    const prefix = this.tuning.testSwitches.poisonCmdIdPrefix;
    if (!prefix) return {};
    return {
      faultHook: (phase, cmdId) => {
        if (phase === "after" && cmdId.startsWith(prefix)) throw new Error(`test poison switch: ${cmdId}`);
      },
    };
  }

  private apply(m: JsMsg): void {
    const inSeq = m.seq;
    const ts = Math.floor(m.info.timestampNanos / 1e6);
    const input = intake(m.subject, m.data, this.p, this.tuning.partitions);
    const events = input.ok ? this.engine.apply(input.cmd, inSeq, ts) : this.engine.reject(inSeq, ts, input.rejection);
    this.publisher.add(events);
    const dls = this.engine.drainDeadLetters();
    const alerts = this.engine.drainAlerts();
    if (dls.length > 0 || alerts.length > 0) {
      for (const dl of dls) this.log.error({ inSeq: dl.inSeq, cmdId: dl.command.cmdId, err: dl.error }, "command dead-lettered");
      this.publisher.addSideOutputs(this.engine.lastSeq, dls, alerts);
    }
    // Metrics are reported from the timer (reportMetrics): a labelled gauge set per command cost ~1 µs.
    this.unreported.commands++;
    this.unreported.events += events.length;
    this.unreported.pending = m.info.pending;
    if (this.state === "recovering") {
      this.replayed++;
      if (inSeq >= this.caughtUpInSeq) this.markServing();
    }
    this.snaps!.applied();
  }

  /**
   * GTD orders expire by log time, so a partition with nothing to do would keep them
   * forever: when one is due by the wall clock, append a `tick` to the partition's
   * log. Its id is derived from the last input applied, so JetStream drops the
   * copies other writers or retries send for the same point.
   */
  private maybeTick(): void {
    const due = this.engine?.nextExpiry;
    if (this.state !== "serving" || due === undefined || due > Date.now() || this.tickInFlight) return;
    const cmdId = `tick-${this.p}-${this.engine.lastInSeq}`;
    const cmd = { kind: "tick", cmdId, account: this.deps.nodeId } as const;
    this.tickInFlight = true;
    this.deps.js
      .publish(subjects.in(this.p, NO_MARKET_TOKEN, this.deps.nodeId), encodeCommand(cmd), { msgID: cmdId })
      .catch((e: unknown) => this.log.warn({ err: e }, "tick publish failed; retrying"))
      .finally(() => {
        this.tickInFlight = false;
      });
  }

  private markServing(): void {
    if (this.state !== "recovering") return;
    this.state = "serving";
    this.servingAt = performance.now();
    this.querySub = serveQueries(this.deps, this.p, () => this.engine);
    const setupMs = this.consumers.lastSetupMs;
    const detail = { replayed: this.replayed, ...(setupMs !== undefined ? { consumerMs: setupMs } : {}) };
    this.log.info({ recoveryMs: Math.round(this.servingAt - this.startedAt), lastInSeq: this.engine.lastInSeq, ...detail }, "partition serving");
  }

  private reportMetrics(): void {
    const u = this.unreported;
    if (u.commands > 0) this.deps.observer.commands(this.p, u.commands);
    if (u.events > 0) this.deps.observer.events(this.p, u.events);
    if (u.pending >= 0) this.deps.observer.lag(this.p, u.pending);
    u.commands = u.events = 0;
    u.pending = -1;
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.stopRequested = true;
    this.messages?.stop();
  }

  private finish(): void {
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.consumers.closeAll();
    void this.spill?.discard();
    this.reportMetrics();
    this.publisher?.stop();
    this.querySub?.unsubscribe();
    this.querySub = null;
    if (this.failure) {
      this.state = "failed";
      throw this.failure;
    }
    this.state = "stopped";
  }
}

function ms(x: number): number {
  return Math.round(x);
}
