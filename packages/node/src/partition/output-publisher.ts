import { headers as natsHeaders } from "@nats-io/transport-node";
import { JetStreamApiCodes, JetStreamApiError, PubHeaders } from "@nats-io/jetstream";
import { encodeValue, encodeWithPackedEvents, joinPackedEvents, packEvents, type Alert, type DeadLetter, type EngineEvent } from "@bourse/engine";
import { STREAM_OUT, headers, subjects } from "../protocol.js";
import type { PartitionDeps, PartitionTuning } from "./deps.js";
import { ReportFanout } from "./report-fanout.js";

/** Another writer got to the partition's output first: this node no longer owns it. */
export class FencedError extends Error {
  override readonly name = "FencedError";
  readonly code = "fenced";
}

/** Output could not be made durable after every attempt. */
export class OutputPublishError extends Error {
  override readonly name = "OutputPublishError";
  readonly code = "output_publish_failed";
}

export interface OutputPosition {
  /** Last event sequence known durable in BOURSE_OUT. */
  lastSeq: number;
  /** Stream sequence of the last message on bourse.out.<p> (0: none): the fencing token. */
  streamSeq: number;
}

/**
 * Batches a partition's events into durable messages on bourse.out.<p>, one in
 * flight at a time, each guarded by Nats-Expected-Last-Subject-Sequence so that
 * a former owner can never write after a new one. Execution reports, market data,
 * dead letters and alerts go out only once their batch is durable.
 */
export class OutputPublisher {
  private pending: EngineEvent[] = [];
  private deadLetters: { afterSeq: number; dl: DeadLetter }[] = [];
  private alerts: Alert[] = [];
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  private drainWaiters: (() => void)[] = [];
  private readonly fanout: ReportFanout;

  constructor(
    private readonly p: number,
    private readonly deps: PartitionDeps,
    private readonly tuning: PartitionTuning,
    private readonly epoch: number,
    readonly position: OutputPosition,
    private readonly onFailure: (e: Error) => void,
  ) {
    this.fanout = new ReportFanout(p, position.lastSeq === 0);
  }

  /** Events waiting to be published (for backpressure). */
  get backlog(): number {
    return this.pending.length;
  }

  /** Queues events newer than what is already durable; older ones are suppressed. */
  add(events: readonly EngineEvent[]): void {
    const floor = this.tuning.testSwitches.noOutputSuppression ? 0 : this.position.lastSeq;
    for (const e of events) if (e.seq > floor) this.pending.push(e);
    if (this.pending.length >= this.tuning.batchEventsMax) this.kick();
    else if (this.pending.length > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.tuning.flushMsInterval);
    }
  }

  addSideOutputs(afterSeq: number, dls: DeadLetter[], alerts: Alert[]): void {
    for (const dl of dls) this.deadLetters.push({ afterSeq, dl });
    this.alerts.push(...alerts);
  }

  /** Resolves when everything queued so far is durable (or rejects with the failure). */
  drain(): Promise<void> {
    this.kick();
    if (this.failure) return Promise.reject(this.failure);
    if (!this.inflight && this.pending.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(() => resolve())).then(() => {
      if (this.failure) throw this.failure;
    });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private kick(): void {
    if (this.inflight || this.failure) return;
    if (this.pending.length === 0) {
      this.release();
      return;
    }
    const batch = this.pending.splice(0, this.tuning.batchEventsMax);
    this.inflight = this.publish(batch).then(
      () => {
        this.inflight = null;
        this.kick();
      },
      (e: Error) => {
        this.inflight = null;
        this.failure = e;
        this.release();
        this.onFailure(e);
      },
    );
  }

  private release(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  private async publish(batch: EngineEvent[]): Promise<void> {
    const started = performance.now();
    const first = batch[0]!.seq;
    const last = batch[batch.length - 1]!.seq;
    // Each event is converted and packed once, for the batch here and for its reports and market data later.
    const parts = packEvents(batch);
    const data = joinPackedEvents(parts);
    const h = natsHeaders();
    h.set(headers.firstSeq, String(first));
    h.set(headers.lastSeq, String(last));
    h.set(headers.lastInSeq, String(batch[batch.length - 1]!.inSeq));
    h.set(headers.node, this.deps.nodeId);
    h.set(headers.epoch, String(this.epoch));
    h.set(PubHeaders.MsgIdHdr, `out-${this.p}-${last}-${this.epoch}`);
    if (!this.tuning.testSwitches.noOutputFencing) h.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(this.position.streamSeq));
    const streamSeq = await this.publishWithRetry(data, h, last);
    this.position.streamSeq = streamSeq;
    this.position.lastSeq = last;
    this.deps.observer.batch(this.p, batch.length, data.length, performance.now() - started);
    this.afterDurable(batch, parts, streamSeq, last);
  }

  /** Publishes the batch (message id and fence in `h`) until acknowledged; the same message id on every attempt. */
  private async publishWithRetry(data: Uint8Array, h: ReturnType<typeof natsHeaders>, last: number): Promise<number> {
    const subject = subjects.out(this.p);
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.tuning.publishAttemptsMax; attempt++) {
      try {
        const ack = await this.deps.acks.publish(subject, data, h, this.tuning.publishMsTimeout);
        return ack.seq;
      } catch (e) {
        lastError = e;
        if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamWrongLastSequence) {
          const mine = await this.ownWrite(last);
          if (mine !== null) return mine;
          this.deps.observer.fenced(this.p);
          throw new FencedError(`partition ${this.p}: output was written by another owner (expected last sequence ${this.position.streamSeq})`, { cause: e });
        }
        this.deps.log.warn({ err: e, attempt, lastSeq: last }, "output publish failed; retrying with the same message id");
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000)));
      }
    }
    throw new OutputPublishError(`partition ${this.p}: output batch ending at ${last} not acknowledged after ${this.tuning.publishAttemptsMax} attempts`, { cause: lastError });
  }

  /** After "wrong last sequence": was the last message ours (an earlier attempt that did land)? */
  private async ownWrite(last: number): Promise<number | null> {
    const m = await this.deps.jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(this.p) });
    if (!m) return null;
    const h = m.header;
    const ours = h.get(headers.node) === this.deps.nodeId && h.get(headers.epoch) === String(this.epoch) && h.get(headers.lastSeq) === String(last);
    return ours ? m.seq : null;
  }

  private afterDurable(batch: EngineEvent[], parts: readonly Uint8Array[], streamSeq: number, last: number): void {
    const { reports, marketData } = this.fanout.split(batch, streamSeq);
    const nc = this.deps.nc;
    const pick = (idx: readonly number[]) => idx.map((i) => parts[i]!);
    for (const [account, r] of reports) nc.publish(subjects.evt(account), encodeWithPackedEvents(r.head, pick(r.events)));
    for (const [market, idx] of marketData) nc.publish(subjects.md(market), joinPackedEvents(pick(idx)));
    while (this.deadLetters.length > 0 && this.deadLetters[0]!.afterSeq <= last) {
      const { dl } = this.deadLetters.shift()!;
      this.deps.observer.deadLetter(this.p);
      this.deps.js.publish(subjects.dlq(this.p), encodeValue(dl), { msgID: `dlq-${this.p}-${dl.inSeq}` }).catch((e: unknown) => {
        this.deps.log.error({ err: e, inSeq: dl.inSeq }, "dead letter could not be stored");
      });
    }
    for (const a of this.alerts.splice(0)) nc.publish(subjects.alert, encodeValue({ ...a, node: this.deps.nodeId }));
  }
}
