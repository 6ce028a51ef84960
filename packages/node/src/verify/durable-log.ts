import { DeliverPolicy, type JetStreamClient } from "@nats-io/jetstream";

/** One stored message, as the node saw it (stream sequence, log time in ms, subject, payload, headers). */
export interface LogEntry {
  seq: number;
  ts: number;
  subject: string;
  data: Uint8Array;
  headers: Map<string, string>;
}

/** Reads every message of a stream matching `filter`, in order, with an ordered consumer. */
export async function readStream(js: JetStreamClient, stream: string, filter: string): Promise<LogEntry[]> {
  const c = await js.consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.All });
  const pending = (await c.info()).num_pending;
  const out: LogEntry[] = [];
  if (pending === 0) return out;
  const it = await c.consume({ max_messages: 1_000 });
  for await (const m of it) {
    const headers = new Map<string, string>();
    if (m.headers) for (const [k, v] of m.headers) headers.set(k, v[0] ?? "");
    out.push({ seq: m.seq, ts: Math.floor(m.info.timestampNanos / 1e6), subject: m.subject, data: m.data, headers });
    if (m.info.pending === 0) break;
  }
  it.stop();
  return out;
}
