/**
 * How far a partition's durable output is behind its command log: the commands
 * logged in BOURSE_IN for the partition after the last one whose output is
 * durable.
 *
 *   logged:  the last message on `bourse.in.<p>.>`: its stream sequence;
 *   durable: the larger of Bourse-Last-In-Seq on the last message of
 *            `bourse.out.<p>` and the lastInSeq of the partition's newest snapshot
 *            (stored only once its output is durable; it also covers commands
 *            that produced no event, such as a tick that expired nothing);
 *   lag:     the number of messages on `bourse.in.<p>.>` after `durable`,
 *            counted by an ephemeral consumer, made only when there is a lag.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { nanos } from "@nats-io/transport-node";
import { snapshotName } from "../partition/snapshot-store.js";
import { STREAM_IN, STREAM_OUT, headers, subjects } from "../protocol.js";
import type { OutputStatus } from "./model.js";
import { reading } from "./read-error.js";

/** An ephemeral counting consumer the server removes by itself if status dies before deleting it. */
const COUNTER_MS_INACTIVE = 30_000;

export interface PartitionPosition {
  inSeq: number;
  durableInSeq: number;
  lag: number;
  output: OutputStatus | null;
}

export async function readPartitionPosition(jsm: JetStreamManager, snapshots: ObjectStore, p: number): Promise<PartitionPosition> {
  // Output first, then input: what is durable was logged before, so LOGGED >= DURABLE even under load.
  const [lastOut, snapshot] = await Promise.all([
    reading(`the last output of partition ${p}`, () => jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) })),
    reading(`the snapshot of partition ${p}`, () => snapshots.info(snapshotName(p))),
  ]);
  const lastIn = await reading(`the last command of partition ${p}`, () => jsm.streams.getMessage(STREAM_IN, { last_by_subj: subjects.inPartition(p) }));
  const inSeq = lastIn?.seq ?? 0;
  const output: OutputStatus | null =
    lastOut === null
      ? null
      : {
          streamSeq: lastOut.seq,
          lastSeq: intHeader(lastOut.header.get(headers.lastSeq)),
          lastInSeq: intHeader(lastOut.header.get(headers.lastInSeq)),
          node: lastOut.header.get(headers.node),
          epoch: intHeader(lastOut.header.get(headers.epoch)),
          at: lastOut.time.toISOString(),
        };
  const snapshotInSeq = snapshot?.deleted === false ? intHeader(snapshot.metadata?.["lastInSeq"] ?? "") : 0;
  const durableInSeq = Math.max(output?.lastInSeq ?? 0, snapshotInSeq);
  const lag = inSeq > durableInSeq ? await countAfter(jsm, p, durableInSeq) : 0;
  return { inSeq, durableInSeq, lag, output };
}

/** Messages on bourse.in.<p>.> with a stream sequence above `after`. */
async function countAfter(jsm: JetStreamManager, p: number, after: number): Promise<number> {
  const what = `the commands of partition ${p} after ${after}`;
  const ci = await reading(what, () =>
    jsm.consumers.add(STREAM_IN, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
      filter_subject: subjects.inPartition(p),
      inactive_threshold: nanos(COUNTER_MS_INACTIVE),
      mem_storage: true,
    }),
  );
  await jsm.consumers.delete(STREAM_IN, ci.name).catch(() => false);
  return ci.num_pending;
}

function intHeader(v: string): number {
  const n = Number(v);
  return v !== "" && Number.isSafeInteger(n) ? n : 0;
}
