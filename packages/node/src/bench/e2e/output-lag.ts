/**
 * How far the durable output trails the command log: for each partition, the
 * `Bourse-Last-In-Seq` header of its last BOURSE_OUT batch against the highest
 * BOURSE_IN sequence acknowledged to a publisher for it. The difference is in
 * command-log positions (every partition's commands share one sequence), so the
 * caller turns it into time at the step's command rate.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { STREAM_OUT, headers, subjects } from "../../protocol.js";

export interface OutputLag {
  /** Largest difference between a partition's last acknowledged command and its output's Last-In-Seq. */
  maxSeqs: number;
  /** The partition it was measured on. */
  partition: number;
}

export async function readOutputLag(jsm: JetStreamManager, lastAcked: ReadonlyMap<number, number>): Promise<OutputLag> {
  const partitions = [...lastAcked.keys()];
  const lastIn = await Promise.all(
    partitions.map(async (p) => {
      try {
        const m = await jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) });
        return Number(m?.header.get(headers.lastInSeq) ?? 0);
      } catch {
        return 0;
      }
    }),
  );
  let worst: OutputLag = { maxSeqs: 0, partition: -1 };
  lastIn.forEach((seq, i) => {
    const lag = Math.max(0, lastAcked.get(partitions[i]!)! - seq);
    if (lag > worst.maxSeqs || worst.partition < 0) worst = { maxSeqs: lag, partition: partitions[i]! };
  });
  return worst;
}
