/**
 * Reads a partition's durable output (BOURSE_OUT, subject bourse.out.<p>) by
 * stream sequence, for gap recovery. Uses the stream's message-get API with
 * `next_by_subj` (nats-server >= 2.9): one request per message, no consumer
 * to create or clean up, works without `allow_direct`, and ends cleanly when
 * there is no further message.
 */
import type { JetStreamManager, MsgRequest } from "@nats-io/jetstream";
import type { EngineEvent } from "@bourse/engine";
import { STREAM_OUT, headers, subjects } from "../protocol.js";
import { decodeBatch } from "./wire.js";

export interface OutMessage {
  streamSeq: number;
  /** First and last event sequence of the batch. */
  firstSeq: number;
  lastSeq: number;
  events: EngineEvent[];
}

/** Where a partition's output ends: its last message's stream sequence and last event sequence (0, 0: none). */
export interface OutEnd {
  streamSeq: number;
  lastSeq: number;
}

export interface OutReader {
  /** The first message of bourse.out.<p> at stream sequence >= `fromStreamSeq`, or null if there is none. */
  next(p: number, fromStreamSeq: number): Promise<OutMessage | null>;
  /** Where bourse.out.<p> ends now. */
  end(p: number): Promise<OutEnd>;
}

export class JetStreamOutReader implements OutReader {
  constructor(private readonly jsm: JetStreamManager) {}

  async next(p: number, fromStreamSeq: number): Promise<OutMessage | null> {
    // `next_by_subj` is accepted by STREAM.MSG.GET since 2.9, but nats.js types it only for direct get.
    const query = { seq: fromStreamSeq, next_by_subj: subjects.out(p) } as unknown as MsgRequest;
    const m = await this.jsm.streams.getMessage(STREAM_OUT, query);
    if (m === null) return null;
    const events = decodeBatch(m.data);
    return {
      streamSeq: m.seq,
      firstSeq: headerInt(m.header.get(headers.firstSeq)) ?? events[0]?.seq ?? 0,
      lastSeq: headerInt(m.header.get(headers.lastSeq)) ?? events[events.length - 1]?.seq ?? 0,
      events,
    };
  }

  async end(p: number): Promise<OutEnd> {
    const m = await this.jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) });
    if (m === null) return { streamSeq: 0, lastSeq: 0 };
    const lastSeq = headerInt(m.header.get(headers.lastSeq)) ?? decodeBatch(m.data).at(-1)?.seq ?? 0;
    return { streamSeq: m.seq, lastSeq };
  }
}

function headerInt(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}
