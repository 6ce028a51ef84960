import type { PartitionEngine } from "@bourse/engine";
import type { Log, PartitionDeps, PartitionTuning } from "./deps.js";
import { runInSlices } from "./slices.js";
import { saveSnapshot } from "./snapshot-store.js";
import { quietSnapshotWorth, timedSnapshotDue, timedSnapshotWorth } from "./snapshot-schedule.js";

/** No command for this long: the partition is quiet (snapshot-schedule.ts, `quietSnapshotWorth`). */
const IDLE_SNAPSHOT_MS = 500;
/**
 * Orders and outcomes a snapshot encodes before it lets the event loop turn (~2–3 ms):
 * a big book's snapshot (1.5 s at 1M resting orders) then no longer stops the node's
 * heartbeats, liveness answers, queries and other partitions; this partition's commands
 * wait for the encoding to finish. Short, because every hop of another partition's
 * command (delivery, output publish, its acknowledgement, the reports) waits for the
 * slice running when it arrives (bench e2e: p99 at low rates).
 */
const SNAPSHOT_SLICE_UNITS = 1_000;

/** What taking a partition's snapshots needs from its loop (partition-runner.ts). */
export interface SnapshotSubject {
  engine(): PartitionEngine;
  /** Serving (not replaying: encoding would stall the replay) and not stopping. */
  mayTake(): boolean;
  stopping(): boolean;
  /** Resolves once every event queued so far is durable. */
  drainOutput(): Promise<void>;
  /** A snapshot was stored: its bytes may become the engine's rollback point (rollback-spill.ts). */
  stored(bytes: Uint8Array): Promise<void>;
}

/**
 * When a partition snapshots, and taking one: every `snapshotCommandsEvery` commands, in
 * the partition's own slot of every `snapshotMsEvery` when worth it, or once it goes quiet
 * (snapshot-schedule.ts). The state is encoded in slices, one partition of the node at a
 * time (the node's snapshot gate), and stored once every event it reflects is durable. The
 * partition's message loop waits for an encoding in progress (`encoding`) before applying.
 */
export class PartitionSnapshots {
  /** Commands applied since the last snapshot that was stored. */
  commandsSince = 0;
  /** A snapshot being encoded: the message loop waits for it before applying. */
  encoding: Promise<void> | null = null;
  /** Slices after which an encoding let the event loop turn (for tests). */
  encodingSlices = 0;
  private taking: Promise<void> | null = null;
  /** A routine snapshot is queued at the node's gate (a stop does not wait for its turn: it will be dropped). */
  private awaitingGate = false;
  /** When the next time-triggered snapshot is due (on the clock of `clockMs`). */
  private timedAt: number;
  /** The last stored snapshot's lastInSeq and time: for whether the next one is worth taking. */
  private lastInSeq: number;
  private takenAt = clockMs();
  /** When the timer last saw lastInSeq move (the partition's last activity, to its period), and where it was. */
  private lastCommandAt = performance.now();
  private lastSeenInSeq = 0;
  /** When the last encoding began: the snapshot's time (its interval counts from there, so partitions that queued at the gate spread out). */
  private encodingStartedAt = 0;

  constructor(
    private readonly p: number,
    private readonly deps: PartitionDeps,
    private readonly tuning: PartitionTuning,
    private readonly log: Log,
    private readonly subject: SnapshotSubject,
  ) {
    this.lastInSeq = subject.engine().lastInSeq;
    // Partitions start together (node start, failover): each one's first time-triggered
    // snapshot comes in its own slot of the interval, as all later ones do.
    this.timedAt = this.nextTimed(clockMs() - tuning.snapshotMsEvery / 2);
  }

  /** One command applied. */
  applied(): void {
    if (++this.commandsSince >= this.tuning.snapshotCommandsEvery) this.maybe();
  }

  /** The loop's timer: notes activity and takes a snapshot when one is due. */
  tick(): void {
    const lastInSeq = this.subject.engine().lastInSeq;
    if (lastInSeq !== this.lastSeenInSeq) {
      this.lastSeenInSeq = lastInSeq;
      this.lastCommandAt = performance.now();
    }
    this.maybe();
  }

  /** A handoff's snapshot, unless nothing was applied since the last one: not queued at the gate; a queued routine one is dropped. */
  async beforeHandoff(): Promise<void> {
    if (!this.awaitingGate) await this.taking;
    if (this.commandsSince > 0) await this.take(false);
  }

  private maybe(): void {
    // Not while replaying: encoding stalls the replay (bench replay: 3 snapshots cost 10.9 s of a 12.6 s
    // recovery); the first tick after serving takes one that covers the whole replay.
    if (!this.subject.mayTake() || this.taking || this.commandsSince === 0) return;
    const engine = this.subject.engine();
    const logStretch = engine.lastInSeq - this.lastInSeq;
    const quiet = performance.now() - this.lastCommandAt >= IDLE_SNAPSHOT_MS;
    let due = this.commandsSince >= this.tuning.snapshotCommandsEvery || (quiet && quietSnapshotWorth(this.commandsSince, logStretch));
    const clock = clockMs();
    if (!due && clock >= this.timedAt) {
      // The partition's slot has come: a snapshot if it is worth its cost, else look again at the next slot.
      due = timedSnapshotWorth({
        commandsSince: this.commandsSince,
        units: engine.snapshotUnits,
        logStretch,
        ageMs: clock - this.takenAt,
        intervalMs: this.tuning.snapshotMsEvery,
      });
      if (!due) this.timedAt += this.tuning.snapshotMsEvery;
    }
    if (!due) return;
    this.taking = this.take(true)
      .catch((e: unknown) => this.log.warn({ err: e }, "snapshot failed; the previous one stays the recovery point"))
      .finally(() => {
        this.taking = null;
      });
  }

  /**
   * Captures the state, and stores it once every event it reflects is durable. A routine
   * snapshot (`gated`) waits for the node's snapshot gate, one partition encoding at a
   * time, and is dropped if the partition stops meanwhile (a handoff takes its own); the
   * handoff's snapshot does not queue behind the others' routine ones.
   */
  private async take(gated: boolean): Promise<void> {
    if (gated) this.awaitingGate = true;
    const bytes = gated
      ? await this.deps.snapshotGate.run(() => {
          this.awaitingGate = false;
          return this.subject.stopping() ? Promise.resolve(null) : this.encode();
        })
      : await this.encode();
    if (bytes === null) return;
    const engine = this.subject.engine();
    const started = this.encodingStartedAt;
    const takenAt = clockMs() - (performance.now() - started);
    const meta = { partition: this.p, seq: engine.lastSeq, lastInSeq: engine.lastInSeq };
    const covered = this.commandsSince;
    this.commandsSince = 0;
    this.timedAt = this.nextTimed(takenAt);
    try {
      await this.subject.drainOutput();
      await saveSnapshot(this.deps.snapshots, this.p, bytes, meta);
    } catch (e) {
      // Not stored: the commands it covered still count towards the next one, and the
      // limits (log stretch, age) still run from the last snapshot that was stored.
      this.commandsSince += covered;
      throw e;
    }
    this.lastInSeq = meta.lastInSeq;
    this.takenAt = takenAt;
    this.deps.observer.snapshot(this.p, performance.now() - started, bytes.length);
    await this.subject.stored(bytes);
  }

  private nextTimed(after: number): number {
    return timedSnapshotDue(this.p, this.tuning.partitions, this.tuning.snapshotMsEvery, after);
  }

  /** engine.snapshotInSlices, one slice per turn of the event loop; commands wait meanwhile (see the message loop). */
  private async encode(): Promise<Uint8Array> {
    this.encodingStartedAt = performance.now();
    let finished!: () => void;
    this.encoding = new Promise<void>((r) => (finished = r));
    const steps = this.subject.engine().snapshotInSlices(this.tuning.snapshotSliceUnits ?? SNAPSHOT_SLICE_UNITS);
    try {
      return await runInSlices(steps, () => this.encodingSlices++);
    } finally {
      this.encoding = null;
      finished();
    }
  }
}

/** Monotonic milliseconds close to the wall clock, the same on every partition of a node (and roughly across nodes). */
function clockMs(): number {
  return performance.timeOrigin + performance.now();
}
