/**
 * Doubles of a Bourse node's output side, for injecting faults into the publisher client's
 * report handling that a real node does not produce on demand: a report message lost for a
 * chosen account or command, a batch trimmed from BOURSE_OUT, a report re-sent, a prevSeq of -1
 * at a chosen moment. They write durable batches to a real bourse.out.<p> (msgpack arrays of
 * events with the Bourse-* headers) and ReportMessages on bourse.evt.<account>, keeping prevSeq
 * the way the node does; FakeNode also reads BOURSE_IN and answers each command with events the
 * test chooses. No engine runs.
 *
 * Used beside the real thing, never instead of it: client-reports.test.ts (the faults) uses them;
 * everything a node does by itself is tested against real `bourse node` processes
 * (client-e2e.test.ts, cluster.test.ts).
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { DeliverPolicy, jetstream, type ConsumerMessages, type JetStreamClient } from "@nats-io/jetstream";
import { decodeCommand, encodeEvents, encodeValue, type AnyCommand, type EngineEvent, type EventHeader } from "@bourse/engine";
import { STREAM_IN, headers, subjects, type ReportMessage } from "../../src/protocol.js";

/** An engine event without the header fields the output side stamps. */
export type EventBody = EngineEvent extends infer E ? (E extends EngineEvent ? Omit<E, keyof EventHeader> : never) : never;

export class FakeOutput {
  private readonly seqs = new Map<number, number>();
  private readonly lastByAccount = new Map<string, number>();
  private readonly js: JetStreamClient;
  /** Keeps this writer's Nats-Msg-Ids apart from another FakeOutput's (each numbers its events from 1). */
  private readonly writer = randomUUID().slice(0, 8);

  constructor(private readonly nc: NatsConnection) {
    this.js = jetstream(nc);
  }

  /** Appends one batch to bourse.out.<p>; returns its stream sequence and the stamped events. */
  async writeBatch(p: number, bodies: readonly EventBody[], inSeq = 0): Promise<{ streamSeq: number; events: EngineEvent[] }> {
    let seq = this.seqs.get(p) ?? 0;
    const events = bodies.map((b) => ({ ...b, partition: p, seq: ++seq, inSeq, ts: 1_000 }) as EngineEvent);
    this.seqs.set(p, seq);
    const h = natsHeaders();
    h.set(headers.firstSeq, String(events[0]!.seq));
    h.set(headers.lastSeq, String(seq));
    h.set(headers.lastInSeq, String(inSeq));
    const ack = await this.js.publish(subjects.out(p), encodeEvents(events), { headers: h, msgID: `out-${p}-${seq}-${this.writer}` });
    return { streamSeq: ack.seq, events };
  }

  /** The report per account for a batch, as the node computes them (trades go to both sides). */
  reportsFor(p: number, streamSeq: number, events: readonly EngineEvent[]): Map<string, ReportMessage> {
    const byAccount = new Map<string, EngineEvent[]>();
    for (const e of events) {
      const accounts = e.type === "trade" ? [...new Set([e.makerAccount, e.takerAccount])] : "account" in e ? [e.account] : [];
      for (const a of accounts) byAccount.set(a, [...(byAccount.get(a) ?? []), e]);
    }
    const out = new Map<string, ReportMessage>();
    for (const [account, list] of byAccount) {
      const key = `${p}/${account}`;
      const prevSeq = this.lastByAccount.get(key) ?? 0;
      this.lastByAccount.set(key, list[list.length - 1]!.seq);
      out.set(account, { partition: p, streamSeq, firstSeq: events[0]!.seq, lastSeq: events[events.length - 1]!.seq, prevSeq, events: list });
    }
    return out;
  }

  publishReport(account: string, r: ReportMessage): void {
    this.nc.publish(subjects.evt(account), encodeValue(r));
  }

  /** Writes a batch and publishes its reports, except those `drop` refuses; returns what was written. */
  async emit(p: number, bodies: readonly EventBody[], opts: { inSeq?: number; drop?: (account: string) => boolean } = {}): Promise<{ streamSeq: number; events: EngineEvent[] }> {
    const w = await this.writeBatch(p, bodies, opts.inSeq ?? 0);
    for (const [account, r] of this.reportsFor(p, w.streamSeq, w.events)) {
      if (!opts.drop?.(account)) this.publishReport(account, r);
    }
    await this.nc.flush();
    return w;
  }
}

export type Responder = (cmd: AnyCommand, inSeq: number) => EventBody[];

/** Reads every command logged in BOURSE_IN and answers it with the responder's events. */
export class FakeNode {
  private constructor(
    /** Every command read from the log, in order. */
    readonly commands: AnyCommand[],
    private readonly messages: ConsumerMessages,
    private readonly done: Promise<void>,
  ) {}

  /** @param drop which reports to lose: by account, and the command being answered. */
  static async start(nc: NatsConnection, out: FakeOutput, respond: Responder, drop?: (account: string, cmd: AnyCommand) => boolean): Promise<FakeNode> {
    const js = jetstream(nc);
    const info = await (await js.streams.get(STREAM_IN)).info();
    const consumer = await js.consumers.get(STREAM_IN, {
      filter_subjects: subjects.inAll,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.state.last_seq + 1,
    });
    const messages = await consumer.consume();
    const commands: AnyCommand[] = [];
    const done = (async () => {
      for await (const m of messages) {
        const d = decodeCommand(m.data);
        if (!d.ok) continue;
        commands.push(d.cmd);
        const bodies = respond(d.cmd, m.seq);
        const cmd = d.cmd;
        if (bodies.length > 0) await out.emit(Number(m.subject.split(".")[2]), bodies, { inSeq: m.seq, ...(drop && { drop: (a: string) => drop(a, cmd) }) });
      }
    })();
    return new FakeNode(commands, messages, done);
  }

  async stop(): Promise<void> {
    this.messages.stop();
    await this.done.catch(() => {});
  }
}

/** A responder that accepts every place (orderId = its input sequence) and cancels and amends what it is asked to. */
export const acceptEverything: Responder = (cmd, inSeq) => {
  switch (cmd.kind) {
    case "place":
      return [{ type: "accepted", cmdId: cmd.cmdId, account: cmd.account, market: cmd.market, orderId: inSeq, side: cmd.side, orderType: cmd.type, price: cmd.price ?? 0, qty: cmd.qty, tif: cmd.tif }];
    case "cancel":
      return [{ type: "cancelled", cmdId: cmd.cmdId, account: cmd.account, market: cmd.market, orderId: cmd.orderId, remaining: 1, reason: "user" }];
    case "amend":
      return [{ type: "amended", cmdId: cmd.cmdId, account: cmd.account, market: cmd.market, orderId: cmd.orderId, price: cmd.price ?? 1, remaining: cmd.qty ?? 1, priorityKept: true }];
    default:
      return [];
  }
};
