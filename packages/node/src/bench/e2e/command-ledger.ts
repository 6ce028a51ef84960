/**
 * What became of every command the end-to-end phases sent, by (publisher, n):
 * when it was due (open loop: its slot in the schedule), when it was published,
 * whether JetStream acknowledged it, and whether its first execution report
 * arrived. Counters answer "how many are still out"; two latency histograms
 * (microseconds) record publish-to-report times while recording is on: from
 * the scheduled slot (free of coordinated omission: a publisher that fell
 * behind adds its delay) and from the publish call.
 */
import { build, type Histogram } from "hdr-histogram-js";

const CHUNK = 1 << 16;
const SENT = 1;
const ACKED = 2;
const FAILED = 4;
const REPORTED = 8;
/** Latencies above this (µs) are clamped, not lost. */
const LATENCY_US_MAX = 120_000_000;

/** Growable per-publisher columns, in chunks so nothing is ever copied. */
class Columns {
  private readonly due: Float64Array[] = [];
  private readonly sentAt: Float64Array[] = [];
  private readonly state: Uint8Array[] = [];
  private readonly partition: Uint16Array[] = [];
  /** Commands set so far (highest n + 1). */
  count = 0;

  private ensure(n: number): number {
    const c = n >>> 16;
    while (this.state.length <= c) {
      this.due.push(new Float64Array(CHUNK));
      this.sentAt.push(new Float64Array(CHUNK));
      this.state.push(new Uint8Array(CHUNK));
      this.partition.push(new Uint16Array(CHUNK));
    }
    return c;
  }

  set(n: number, due: number, sentAt: number, partition: number): void {
    const c = this.ensure(n);
    const i = n & (CHUNK - 1);
    this.due[c]![i] = due;
    this.sentAt[c]![i] = sentAt;
    this.state[c]![i] = SENT;
    this.partition[c]![i] = partition;
    if (n >= this.count) this.count = n + 1;
  }

  /** Partitions of the commands sent and neither reported nor failed. */
  *outstandingPartitions(): Generator<number> {
    for (let n = 0; n < this.count; n++) {
      const s = this.state[n >>> 16]![n & (CHUNK - 1)]!;
      if (s !== 0 && (s & (REPORTED | FAILED)) === 0) yield this.partition[n >>> 16]![n & (CHUNK - 1)]!;
    }
  }

  /** Sets `bit`; returns the state before, or 0 for a command never sent. */
  mark(n: number, bit: number): number {
    const c = n >>> 16;
    const s = this.state[c];
    if (s === undefined) return 0;
    const i = n & (CHUNK - 1);
    const before = s[i]!;
    if (before !== 0) s[i] = before | bit;
    return before;
  }

  dueOf(n: number): number {
    return this.due[n >>> 16]![n & (CHUNK - 1)]!;
  }
  sentAtOf(n: number): number {
    return this.sentAt[n >>> 16]![n & (CHUNK - 1)]!;
  }
}

function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3 });
}

export class CommandLedger {
  sent = 0;
  acked = 0;
  /** Publishes that failed after every retry (they may or may not be in the log). */
  failed = 0;
  /** Commands whose first report arrived. */
  reported = 0;
  /** Reports of our commands that were `rejected` events (the workload is valid: any is a fault). */
  rejected = 0;
  /** Report events naming a command nobody sent (another run's, or garbage). */
  unknown = 0;
  /** Commands completed from BOURSE_OUT because their report never came (./out-recovery.ts); also counted in `reported`. */
  recovered = 0;
  readonly fromSchedule = histogram();
  readonly fromPublish = histogram();
  /** Publish call to BOURSE_IN acknowledgement (µs), every command; reset by the caller. */
  readonly ackLatency = histogram();
  /** Record latencies of commands due in [recordFrom, recordTo) (performance.now() ms). */
  private recordFrom = Infinity;
  private recordTo = Infinity;
  private readonly columns: Columns[];
  private readonly reportedBy: number[];
  private readonly waiters: ((() => void) | undefined)[];

  constructor(publishers: number) {
    this.columns = Array.from({ length: publishers }, () => new Columns());
    this.reportedBy = new Array<number>(publishers).fill(0);
    this.waiters = new Array(publishers).fill(undefined);
  }

  /** Sent and neither reported nor failed. */
  get outstanding(): number {
    return this.sent - this.reported - this.failed;
  }

  sentBy(p: number, n: number, due: number, sentAt: number, partition: number): void {
    this.columns[p]!.set(n, due, sentAt, partition);
    this.sent++;
  }

  /** Commands still out, counted by partition, most first. */
  outstandingByPartition(): [partition: number, commands: number][] {
    const m = new Map<number, number>();
    for (const c of this.columns) for (const p of c.outstandingPartitions()) m.set(p, (m.get(p) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1]);
  }

  /** Highest BOURSE_IN sequence acknowledged per partition (for the output lag). */
  readonly lastAckedSeq = new Map<number, number>();

  ackedBy(p: number, n: number, seq: number, partition: number, at: number): void {
    const cols = this.columns[p]!;
    if (cols.mark(n, ACKED) !== 0) {
      this.acked++;
      this.ackLatency.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, Math.round((at - cols.sentAtOf(n)) * 1000))));
    }
    if (seq > (this.lastAckedSeq.get(partition) ?? 0)) this.lastAckedSeq.set(partition, seq);
  }

  failedBy(p: number, n: number): void {
    const before = this.columns[p]!.mark(n, FAILED);
    if (before !== 0 && (before & REPORTED) === 0) this.failed++;
  }

  /** The first report of command n of publisher p arrived at `at` (performance.now()). */
  reportedFor(p: number, n: number, at: number, rejected: boolean): void {
    const cols = this.columns[p];
    if (cols === undefined) {
      this.unknown++;
      return;
    }
    const before = cols.mark(n, REPORTED);
    if (before === 0) {
      this.unknown++;
      return;
    }
    if ((before & REPORTED) !== 0) return;
    if ((before & FAILED) !== 0) this.failed--;
    this.reported++;
    this.reportedBy[p]!++;
    if (rejected) this.rejected++;
    const due = cols.dueOf(n);
    if (due >= this.recordFrom && due < this.recordTo) {
      this.fromSchedule.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, Math.round((at - due) * 1000))));
      this.fromPublish.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, Math.round((at - cols.sentAtOf(n)) * 1000))));
    }
    const w = this.waiters[p];
    if (w !== undefined) {
      this.waiters[p] = undefined;
      w();
    }
  }

  /**
   * Command n of publisher p is in the durable output although its report never
   * came: completes it (no latency recorded). Returns whether it was still out.
   */
  recoveredFor(p: number, n: number, rejected: boolean): boolean {
    const cols = this.columns[p];
    const before = cols?.mark(n, REPORTED) ?? 0;
    if (before === 0 || (before & REPORTED) !== 0) return false;
    if ((before & FAILED) !== 0) this.failed--;
    this.reported++;
    this.recovered++;
    this.reportedBy[p]!++;
    if (rejected) this.rejected++;
    this.wake(p);
    return true;
  }

  /** Commands of publisher p reported so far. */
  reportedOf(p: number): number {
    return this.reportedBy[p]!;
  }

  /** Resolves at the next report of one of publisher p's commands (or on wake(p)). */
  nextReport(p: number): Promise<void> {
    return new Promise<void>((resolve) => (this.waiters[p] = resolve));
  }

  wake(p: number): void {
    const w = this.waiters[p];
    this.waiters[p] = undefined;
    w?.();
  }

  /** Latencies of commands due from now on are recorded ... */
  startRecording(from: number): void {
    this.fromSchedule.reset();
    this.fromPublish.reset();
    this.recordFrom = from;
    this.recordTo = Infinity;
  }

  /** ... until commands due before `to` (their reports may still come). */
  stopRecordingAt(to: number): void {
    this.recordTo = to;
  }
}
