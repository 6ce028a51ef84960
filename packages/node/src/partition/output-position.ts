import { STREAM_OUT, headers, subjects } from "../protocol.js";
import type { PartitionDeps } from "./deps.js";
import type { OutputPosition } from "./output-publisher.js";

/** Where a partition's durable output ends: read from the last message on bourse.out.<p>. */
export async function readOutputPosition(deps: PartitionDeps, p: number): Promise<OutputPosition & { lastInSeq: number }> {
  const m = await deps.jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) });
  if (!m) return { lastSeq: 0, streamSeq: 0, lastInSeq: 0 };
  const lastSeq = Number(m.header.get(headers.lastSeq));
  const lastInSeq = Number(m.header.get(headers.lastInSeq));
  if (!Number.isSafeInteger(lastSeq) || !Number.isSafeInteger(lastInSeq))
    throw new Error(`partition ${p}: output message ${m.seq} lacks ${headers.lastSeq}/${headers.lastInSeq} headers`);
  return { lastSeq, streamSeq: m.seq, lastInSeq };
}
