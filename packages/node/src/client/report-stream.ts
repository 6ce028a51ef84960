/**
 * Turns the account's report messages (core NATS, may be lost) into a gap-free
 * stream of its events per partition, recovering what was missed from the
 * durable output (BOURSE_OUT). Listeners never see an event twice.
 *
 * Per partition the stream keeps a cursor: the last event sequence delivered
 * for this account and the output stream sequence it has seen up to. A report
 * continues the chain when its prevSeq equals that last sequence; otherwise
 * (a different prevSeq, or -1 = "the sender does not know", after a takeover)
 * the stream reads bourse.out.<p> from the cursor up to the report's own
 * message, delivers this account's events it has not delivered yet, and goes on.
 * The first report of a partition starts its cursor: events from before the
 * client existed are not replayed. But if the client has sent a command to the
 * partition (so it noted where the output ended then, its baseline) and the
 * report's prevSeq is past that end, or -1, then reports of its own events after
 * the baseline were lost or are late: the stream reads them from the baseline on.
 *
 * Work is serialised per partition (one promise chain each), so a recovery
 * holds back later reports of its partition but not of the others.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { EngineEvent } from "@bourse/engine";
import { BourseClientError, BourseReportGapError } from "./errors.js";
import type { OutEnd, OutMessage, OutReader } from "./out-reader.js";
import { concerns, type Report } from "./wire.js";

export interface ReportMeta {
  partition: number;
  /** BOURSE_OUT stream sequence of the batch the event belongs to. */
  streamSeq: number;
  /** Delivered from BOURSE_OUT after a gap, not from a live report message. */
  recovered: boolean;
}

export interface RecoveryPolicy {
  attemptsMax: number;
  backoffMsBase: number;
  messagesMax: number;
}

interface Cursor {
  /** Last event sequence delivered for this account. */
  lastSeq: number;
  /** Output stream sequence up to which everything of this account was delivered. */
  streamSeq: number;
  /** Last event sequence of the partition's batch at `streamSeq` (any account), if known: batches must continue it. */
  batchLastSeq: number | undefined;
}

export class ReportStream {
  private readonly cursors = new Map<number, Cursor>();
  /** Where a partition's output ended before this client's first command to it (no report seen yet). */
  private readonly baselines = new Map<number, OutEnd>();
  private readonly chains = new Map<number, Promise<void>>();
  private closed = false;

  constructor(
    private readonly account: string,
    private readonly reader: OutReader,
    private readonly policy: RecoveryPolicy,
    private readonly deliver: (e: EngineEvent, meta: ReportMeta) => void,
    private readonly fail: (e: BourseClientError) => void,
  ) {}

  /** A decoded report message for this account, in arrival order. */
  push(r: Report): void {
    this.enqueue(r.partition, () => this.apply(r));
  }

  /**
   * Notes where partition p's output ends now, before the client's first command
   * to it, so that catchUp can find that command's events even if no report ever
   * arrives. Best effort: an error only means no baseline.
   */
  markBaseline(p: number): Promise<void> {
    if (this.cursors.has(p) || this.baselines.has(p)) return Promise.resolve();
    return this.enqueue(p, async () => {
      if (this.cursors.has(p) || this.baselines.has(p)) return;
      try {
        this.baselines.set(p, await this.reader.end(p));
      } catch {
        // No output stream yet, or JetStream unavailable: catchUp will have nothing to start from.
      }
    });
  }

  /** Reads partition p's output to its current end and delivers what this account has not seen. */
  catchUp(p: number): Promise<void> {
    return this.enqueue(p, async () => {
      const cur = this.cursors.get(p);
      const base = this.baselines.get(p);
      if (cur === undefined && base === undefined) return;
      const end = (await this.reader.end(p)).streamSeq;
      const from = cur ?? { lastSeq: 0, streamSeq: base!.streamSeq, batchLastSeq: base!.lastSeq };
      if (end <= from.streamSeq) return;
      try {
        await this.recover(p, from, end + 1);
      } finally {
        // Keep whatever progress was made, even on failure, so nothing is delivered twice.
        if (cur === undefined && from.lastSeq > 0) {
          this.cursors.set(p, from);
          this.baselines.delete(p);
        } else if (cur === undefined) {
          this.baselines.set(p, { streamSeq: from.streamSeq, lastSeq: from.batchLastSeq ?? base!.lastSeq });
        }
      }
    });
  }

  /** Resolves once everything queued so far is handled. */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  close(): void {
    this.closed = true;
  }

  private enqueue(p: number, task: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) return;
      try {
        await task();
      } catch (e) {
        if (!this.closed) this.fail(asClientError(p, e));
      }
    };
    const next = (this.chains.get(p) ?? Promise.resolve()).then(run);
    this.chains.set(p, next);
    void next.then(() => {
      if (this.chains.get(p) === next) this.chains.delete(p);
    });
    return next;
  }

  private async apply(r: Report): Promise<void> {
    const p = r.partition;
    let cur = this.cursors.get(p);
    let caughtUp = false;
    if (cur === undefined) {
      const base = this.baselines.get(p);
      cur = { lastSeq: 0, streamSeq: 0, batchLastSeq: undefined };
      this.cursors.set(p, cur);
      this.baselines.delete(p);
      // The account's previous event is after the baseline (or unknown): ours, and never delivered.
      if (base !== undefined && r.streamSeq > base.streamSeq + 1 && (r.prevSeq === -1 || r.prevSeq > base.lastSeq)) {
        cur.streamSeq = base.streamSeq;
        cur.batchLastSeq = base.lastSeq;
        caughtUp = await this.recoverOrFail(p, cur, r.streamSeq);
      }
    } else if (r.streamSeq > cur.streamSeq && r.prevSeq !== cur.lastSeq) {
      caughtUp = await this.recoverOrFail(p, cur, r.streamSeq);
    }
    // After a recovery every earlier batch has been read, so this one must continue the last.
    this.take(p, cur, { streamSeq: r.streamSeq, firstSeq: r.firstSeq, lastSeq: r.lastSeq, events: r.events }, { recovered: false, contiguous: caughtUp });
  }

  /** recover(), reporting a failure instead of throwing; true when everything before `before` was read. */
  private async recoverOrFail(p: number, cur: Cursor, before: number): Promise<boolean> {
    try {
      await this.recover(p, cur, before);
      return true;
    } catch (e) {
      // Reported once; the report's own events still go out, and the next recovery starts after it.
      this.fail(asClientError(p, e));
      cur.batchLastSeq = undefined;
      return false;
    }
  }

  /** Delivers this account's events of the messages in (cur.streamSeq, before) from BOURSE_OUT, retrying reads. */
  private async recover(p: number, cur: Cursor, before: number): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.policy.attemptsMax && !this.closed; attempt++) {
      try {
        await this.readRange(p, cur, before);
        return;
      } catch (e) {
        if (e instanceof BourseReportGapError) throw e;
        lastError = e;
        await sleep(this.policy.backoffMsBase * 2 ** (attempt - 1), undefined, { ref: false });
      }
    }
    if (this.closed) return;
    throw new BourseReportGapError(
      p,
      cur.lastSeq,
      `partition ${p}: could not read BOURSE_OUT after stream sequence ${cur.streamSeq} to recover missed reports ` +
        `(${this.policy.attemptsMax} attempts); events after sequence ${cur.lastSeq} may be missing`,
      { cause: lastError },
    );
  }

  private async readRange(p: number, cur: Cursor, before: number): Promise<void> {
    for (let read = 0; cur.streamSeq + 1 < before && !this.closed; read++) {
      if (read >= this.policy.messagesMax) {
        throw new BourseReportGapError(p, cur.lastSeq, `partition ${p}: gap longer than ${this.policy.messagesMax} output messages; stopped at stream sequence ${cur.streamSeq}`);
      }
      const m = await this.reader.next(p, cur.streamSeq + 1);
      if (m === null || m.streamSeq >= before) return;
      this.take(p, cur, m, { recovered: true, contiguous: true });
    }
  }

  /**
   * Delivers the account's events of one batch that are newer than the cursor, and
   * moves the cursor past it. Batches read from the stream are every batch of the
   * partition, so each must continue the previous one; a hole means lost output.
   */
  private take(p: number, cur: Cursor, m: OutMessage, how: { recovered: boolean; contiguous: boolean }): void {
    if (how.contiguous && cur.batchLastSeq !== undefined && m.streamSeq > cur.streamSeq && m.firstSeq > cur.batchLastSeq + 1) {
      this.fail(new BourseReportGapError(p, cur.lastSeq, `partition ${p}: output events ${cur.batchLastSeq + 1}..${m.firstSeq - 1} are missing from BOURSE_OUT (retention?)`));
    }
    const meta: ReportMeta = { partition: p, streamSeq: m.streamSeq, recovered: how.recovered };
    for (const e of m.events) {
      if (e.seq <= cur.lastSeq || !concerns(e, this.account)) continue;
      cur.lastSeq = e.seq;
      this.deliver(e, meta);
    }
    if (m.streamSeq > cur.streamSeq) {
      cur.streamSeq = m.streamSeq;
      cur.batchLastSeq = m.lastSeq;
    }
  }
}

function asClientError(p: number, e: unknown): BourseClientError {
  if (e instanceof BourseClientError) return e;
  return new BourseReportGapError(p, 0, `partition ${p}: report handling failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
