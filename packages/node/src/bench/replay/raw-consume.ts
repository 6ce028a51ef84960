/**
 * The raw limit replay is compared with: an ordered consumer over the same
 * stream, filter and start sequence a recovering partition uses, with the same
 * batch size, that receives every message and does nothing with it.
 */
import { DeliverPolicy, type JetStreamClient } from "@nats-io/jetstream";
import { STREAM_IN, subjects } from "../../protocol.js";
import type { CpuSampler, CpuShares } from "../common/cpu.js";
import { CONSUME_BATCH } from "./recovery.js";

export interface RawConsumeResult {
  msgs: number;
  /** From asking for the consumer to receiving the last message. */
  ms: number;
  msgsPerS: number;
  /** Cores used by the nats-server and this process while consuming. */
  cpu: CpuShares;
}

export async function rawConsume(js: JetStreamClient, p: number, fromSeq: number, lastSeq: number, cpu: CpuSampler): Promise<RawConsumeResult> {
  cpu.start();
  const started = performance.now();
  const consumer = await js.consumers.get(STREAM_IN, {
    filter_subjects: subjects.inPartition(p),
    ...(fromSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq } : { deliver_policy: DeliverPolicy.All }),
  });
  const messages = await consumer.consume({ max_messages: CONSUME_BATCH });
  let msgs = 0;
  for await (const m of messages) {
    msgs++;
    if (m.seq >= lastSeq) break;
  }
  const ms = performance.now() - started;
  const shares = cpu.stop();
  messages.stop();
  return { msgs, ms, msgsPerS: (msgs * 1000) / ms, cpu: shares };
}
