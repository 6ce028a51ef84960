import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { JetStreamApiError, JetStreamError, type PubAck } from "@nats-io/jetstream";

/** No acknowledgement within the publish's timeout (the message may or may not be stored: retry with the same message id). */
export class AckTimeoutError extends Error {
  override readonly name = "AckTimeoutError";
  readonly code = "ack_timeout";
}

/** The server answered "no responders": no stream listens on the subject (or JetStream is not enabled). */
export class NoStreamError extends Error {
  override readonly name = "NoStreamError";
  readonly code = "no_stream";
}

/** The publisher was closed with the publish still unacknowledged. */
export class AckPublisherClosedError extends Error {
  override readonly name = "AckPublisherClosedError";
  readonly code = "ack_publisher_closed";
}

interface Waiter {
  resolve(ack: PubAck): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Acknowledged JetStream publishes for a node's output path: each publish carries a
 * reply subject under one inbox subscription of the node's connection, and the
 * acknowledgement (or the JetStream error, as nats.js's JetStreamApiError, so that
 * callers read `code` as they would from `js.publish`) settles its promise.
 *
 * Why not `js.publish`: in nats.js 3.4 every request (RequestOne) ends with `cancel()`,
 * which rejects its already-resolved promise with a `RequestError` it constructs, stack
 * trace and all, after each successful acknowledgement: 6–8 % of a node's CPU at low
 * rates, where every command is an output publish of its own (bench e2e profiles,
 * docs/benchmarks.md). Headers (`Nats-Msg-Id`, `Nats-Expected-Last-Subject-Sequence`) are
 * the caller's, set on the message as the JetStream protocol defines them.
 */
export class JsAckPublisher {
  private prefix = "";
  /** The inbox subscription; null until the first publish, and again after it failed (made anew by the next publish). */
  private sub: Subscription | null = null;
  private readonly waiting = new Map<number, Waiter>();
  private next = 0;
  private closed = false;

  constructor(private readonly nc: NatsConnection) {}

  /** Publishes awaiting their acknowledgement. */
  get inFlight(): number {
    return this.waiting.size;
  }

  publish(subject: string, data: Uint8Array, headers: MsgHdrs, timeoutMs: number): Promise<PubAck> {
    if (this.closed) return Promise.reject(new AckPublisherClosedError("acknowledged publisher closed"));
    const prefix = this.subscribed();
    const id = ++this.next;
    return new Promise<PubAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new AckTimeoutError(`no acknowledgement for a publish to ${subject} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      try {
        this.nc.publish(subject, data, { reply: `${prefix}${id}`, headers });
      } catch (e) {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Rejects every publish still waiting and stops listening. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub?.unsubscribe();
    this.sub = null;
    this.rejectWaiting(new AckPublisherClosedError("acknowledged publisher closed with the publish unacknowledged"));
  }

  /** The inbox prefix, subscribing first when there is no live subscription. */
  private subscribed(): string {
    if (this.sub === null || this.sub.isClosed()) {
      const prefix = `${createInbox()}.`;
      const sub: Subscription = this.nc.subscribe(`${prefix}*`, {
        callback: (err, m) => {
          if (err === null) this.settle(m);
          else this.lost(sub, err);
        },
      });
      this.prefix = prefix;
      this.sub = sub;
    }
    return this.prefix;
  }

  /**
   * The subscription failed (a permissions violation, say): what waits on it can never be
   * answered, so it is rejected now, not at its timeout, and the next publish subscribes
   * anew rather than the publisher failing for good.
   */
  private lost(sub: Subscription, err: Error): void {
    if (this.sub !== sub) return;
    this.sub = null;
    if (!sub.isClosed()) sub.unsubscribe();
    this.rejectWaiting(err);
  }

  private rejectWaiting(e: Error): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.waiting.clear();
  }

  private settle(m: Msg): void {
    const id = Number(m.subject.slice(m.subject.lastIndexOf(".") + 1));
    const w = this.waiting.get(id);
    if (w === undefined) return; // answered after its timeout: the caller has moved on (and retries with the same id)
    this.waiting.delete(id);
    clearTimeout(w.timer);
    if (m.data.length === 0 && m.headers?.code === 503) {
      w.reject(new NoStreamError(`no stream answered a publish (no responders)`));
      return;
    }
    try {
      w.resolve(parseAck(m.data));
    } catch (e) {
      w.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

const decoder = new TextDecoder();

/** A JetStream publish acknowledgement, or its error thrown as nats.js would (`JetStreamApiError`, `code` = err_code). */
export function parseAck(data: Uint8Array): PubAck {
  let v: { stream?: string; seq?: number; duplicate?: boolean; domain?: string; error?: { code: number; err_code: number; description: string } };
  try {
    v = JSON.parse(decoder.decode(data)) as typeof v;
  } catch (e) {
    throw new JetStreamError("unreadable ack response", { cause: e });
  }
  if (v.error !== undefined) throw new JetStreamApiError(v.error);
  if (typeof v.stream !== "string" || v.stream === "" || typeof v.seq !== "number") throw new JetStreamError("invalid ack response");
  const ack: PubAck = { stream: v.stream, seq: v.seq, duplicate: v.duplicate === true };
  if (v.domain !== undefined) ack.domain = v.domain;
  return ack;
}
