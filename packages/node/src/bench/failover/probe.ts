/**
 * The outside client's view of one moved partition, from the moment its owner was
 * signalled: when does the partition serve again?
 *
 *   command: a probe order (a resting buy below every loaded price) is published to
 *            a market of the partition at once; served when its execution report
 *            arrives on bourse.evt.<probe account> (sent only after its batch is
 *            durable in BOURSE_OUT).
 *   query:   from the publish acknowledgement on, the probe order (its id is its
 *            command's stream sequence) is asked for on bourse.q.<p> every pollMs;
 *            served when a reply finds it, i.e. comes from a node that has applied
 *            the probe. One tick publishes the queries of every waiting partition with
 *            a reply subject on one inbox subscription: request() per poll made the
 *            bench itself use 40% of a core (error objects with stacks for each
 *            no-responders reply), on the 2-core machine it measures.
 *
 * Both must come from the new owner. After kill -9 nothing else can answer. After
 * SIGTERM the old owner goes on serving until its successor has prepared and asks for
 * the partition (make before break, handoff-request.ts): the report's batch names its
 * writer (Bourse-Node), and a probe the old owner wrote is followed by a new one at
 * once, until the new owner writes one. Each probe's wait (publish → served) is kept:
 * the longest, `waitMs`, is how long a command sent during the move waited — the time
 * the partition did not serve. After kill -9 it is the first probe's, from the signal.
 */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { createInbox, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { encodeCommand, encodeValue } from "@bourse/engine";
import { decodeOrderReply, decodeReport } from "../../client/wire.js";
import { STREAM_OUT, headers, subjects } from "../../protocol.js";
import { FAILOVER_METHOD as M } from "./options.js";

export interface ProbeResult {
  partition: number;
  market: string;
  /** Milliseconds from the signal until a query found the probe order; null: never within the trial timeout. */
  queryMs: number | null;
  /** ... until the probe's execution report arrived. */
  commandMs: number | null;
  /** The later of the two: the partition serves queries and commands again. */
  servedMs: number | null;
  /** The longest any probe waited from its publish until served (its report, and for the new owner's probe also the query). */
  waitMs: number | null;
  /** Probes published (more than 1 when the old owner applied the first ones). */
  probes: number;
  /** The node whose durable output carried the probe that counted. */
  writer: string | undefined;
}

interface Reported {
  at: number;
  streamSeq: number;
}

/** One report subscription for the whole run; each trial probes the moved partitions through it. */
export class Prober {
  private readonly waiting = new Map<string, (r: Reported) => void>();
  private sub: Subscription | undefined;
  private trial = 0;
  private readonly polls: QueryPoller;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {
    this.polls = new QueryPoller(nc);
  }

  /** Subscribes to the probe account's reports (before any probe is published). */
  async open(): Promise<void> {
    this.sub = this.nc.subscribe(subjects.evt(M.probeAccount), {
      callback: (err, msg) => {
        if (err) return;
        const at = performance.now();
        let report;
        try {
          report = decodeReport(msg.data);
        } catch {
          return;
        }
        for (const e of report.events) {
          const cmdId = "cmdId" in e ? e.cmdId : undefined;
          const resolve = cmdId === undefined ? undefined : this.waiting.get(cmdId);
          if (resolve) {
            this.waiting.delete(cmdId!);
            resolve({ at, streamSeq: report.streamSeq });
          }
        }
      },
    });
    this.polls.open();
    await this.nc.flush();
  }

  /**
   * Probes each partition until it serves again (or the trial times out); times are
   * from `t0` (performance.now() when the signal was sent). `oldOwner` wrote the
   * partitions until the signal.
   */
  async probe(moved: readonly { partition: number; market: string }[], oldOwner: string, t0: number): Promise<ProbeResult[]> {
    const trial = ++this.trial;
    const ac = new AbortController();
    setMaxListeners(0, ac.signal); // every moved partition's probe listens to it
    const timer = setTimeout(() => ac.abort(), M.trialMsTimeout);
    try {
      return await Promise.all(moved.map((m) => this.probeOne(trial, m.partition, m.market, oldOwner, t0, ac.signal)));
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.sub?.unsubscribe();
    this.polls.close();
    this.waiting.clear();
  }

  private async probeOne(trial: number, p: number, market: string, oldOwner: string, t0: number, signal: AbortSignal): Promise<ProbeResult> {
    const result: ProbeResult = { partition: p, market, queryMs: null, commandMs: null, servedMs: null, waitMs: null, probes: 0, writer: undefined };
    const waited = (ms: number): void => {
      result.waitMs = Math.max(result.waitMs ?? 0, ms);
    };
    while (!signal.aborted) {
      const cmdId = `fo-probe-${trial}-${p}-${++result.probes}`;
      const publishedAt = performance.now();
      const reported = new Promise<Reported | null>((resolve) => {
        this.waiting.set(cmdId, resolve);
        signal.addEventListener("abort", () => resolve(null), { once: true });
      });
      const orderId = await this.publish(cmdId, p, market, signal);
      if (orderId === null) break;
      const stopQuery = new AbortController();
      const queried = this.polls.until(p, market, orderId, AbortSignal.any([signal, stopQuery.signal]));
      const report = await reported;
      this.waiting.delete(cmdId);
      if (report === null) {
        stopQuery.abort();
        const q = await queried;
        result.queryMs = q === null ? null : q - t0;
        break;
      }
      const writer = await this.writerOf(report.streamSeq);
      if (writer === oldOwner) {
        // The old owner applied this probe, still serving: it says nothing about the new one.
        stopQuery.abort();
        await queried;
        waited(report.at - publishedAt);
        continue;
      }
      const q = await queried;
      result.writer = writer;
      result.commandMs = report.at - t0;
      result.queryMs = q === null ? null : q - t0;
      if (result.queryMs !== null) {
        result.servedMs = Math.max(result.queryMs, result.commandMs);
        waited(t0 + result.servedMs - publishedAt);
      }
      break;
    }
    return result;
  }

  /** Publishes the probe order; resolves with its order id (= its stream sequence), null when aborted. */
  private async publish(cmdId: string, p: number, market: string, signal: AbortSignal): Promise<number | null> {
    const cmd = { kind: "place", cmdId, account: M.probeAccount, market, side: "buy", type: "limit", price: M.probePrice, qty: 1, tif: "GTC" } as const;
    const data = encodeCommand(cmd);
    while (!signal.aborted) {
      try {
        const ack = await this.js.publish(subjects.in(p, market, M.probeAccount), data, { msgID: cmdId, timeout: 2_000 });
        return ack.seq;
      } catch {
        await sleep(M.pollMs);
      }
    }
    return null;
  }

  /** Bourse-Node of the output batch at `streamSeq`. */
  private async writerOf(streamSeq: number): Promise<string | undefined> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        const m = await this.jsm.streams.getMessage(STREAM_OUT, { seq: streamSeq });
        return m?.header.get(headers.node) || undefined;
      } catch {
        await sleep(20 * attempt);
      }
    }
    return undefined;
  }
}

/** Asks every pollMs, for each partition waiting, whether its probe order is there. */
class QueryPoller {
  private readonly inbox = createInbox();
  private readonly pending = new Map<number, { data: Uint8Array; orderId: number; resolve: (at: number | null) => void }>();
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly nc: NatsConnection) {}

  open(): void {
    // Replies come to <inbox>.<partition>.<orderId>; a no-responders status (nobody serves the partition) is ignored.
    this.sub = this.nc.subscribe(`${this.inbox}.>`, {
      callback: (err, msg) => {
        if (err || msg.data.length === 0) return;
        const at = performance.now();
        const [p, orderId] = msg.subject.slice(this.inbox.length + 1).split(".").map(Number);
        const w = this.pending.get(p!);
        if (!w || w.orderId !== orderId) return;
        try {
          if (!decodeOrderReply(msg.data).ok) return;
        } catch {
          return;
        }
        this.pending.delete(p!);
        w.resolve(at);
      },
    });
    this.timer = setInterval(() => {
      for (const [p, w] of this.pending) this.nc.publish(subjects.query(p), w.data, { reply: `${this.inbox}.${p}.${w.orderId}` });
    }, M.pollMs);
  }

  /** Resolves with performance.now() of the first reply that has the order, null when aborted. */
  until(p: number, market: string, orderId: number, signal: AbortSignal): Promise<number | null> {
    return new Promise((resolve) => {
      const data = encodeValue({ kind: "query", market, orderId });
      const done = (at: number | null): void => {
        if (this.pending.get(p)?.resolve === done) this.pending.delete(p);
        resolve(at);
      };
      this.pending.set(p, { data, orderId, resolve: done });
      if (signal.aborted) done(null);
      else signal.addEventListener("abort", () => done(null), { once: true });
      this.nc.publish(subjects.query(p), data, { reply: `${this.inbox}.${p}.${orderId}` });
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.sub?.unsubscribe();
    for (const w of this.pending.values()) w.resolve(null);
    this.pending.clear();
  }
}
