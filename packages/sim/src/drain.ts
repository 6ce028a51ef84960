/**
 * After the load: waits until every partition's durable output covers every
 * command the log acknowledged to the publishers (the Bourse-Last-In-Seq
 * header of the partition's last output batch reaches the highest acked
 * sequence of that partition).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamManager } from "@nats-io/jetstream";
import { headers, STREAM_OUT, subjects, type Violation } from "@bourse/node";

const POLL_MS = 100;

export async function lastOutputInSeq(jsm: JetStreamManager, p: number): Promise<number> {
  try {
    const m = await jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) });
    return Number(m?.header.get(headers.lastInSeq) ?? 0);
  } catch {
    return 0;
  }
}

/** Resolves with one drain_timeout violation per partition still behind after `msTimeout`. */
export async function drain(jsm: JetStreamManager, highestAcked: ReadonlyMap<number, number>, msTimeout: number): Promise<Violation[]> {
  const deadline = Date.now() + msTimeout;
  let behind = [...highestAcked];
  for (;;) {
    const next: [number, number][] = [];
    for (const [p, seq] of behind) if ((await lastOutputInSeq(jsm, p)) < seq) next.push([p, seq]);
    behind = next;
    if (behind.length === 0) return [];
    if (Date.now() > deadline) break;
    await sleep(POLL_MS);
  }
  const out: Violation[] = [];
  for (const [p, seq] of behind) {
    const got = await lastOutputInSeq(jsm, p);
    out.push({ check: "drain_timeout", partition: p, inSeq: seq, detail: `after ${msTimeout} ms the durable output covers the log up to inSeq ${got}, not ${seq}` });
  }
  return out;
}
