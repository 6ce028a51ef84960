/**
 * cancelAll fans out: the engine cancels an account's orders per partition, so
 * "every market" is one cancelAll (without market) per partition, each on the
 * subject bourse.in.<p>._.<account> with the cmdId "<cmdId>:<p>" — distinct
 * Nats-Msg-Ids (BOURSE_IN de-duplicates across all its subjects), derived from
 * one cmdId so that retrying the whole call is still idempotent.
 */
import { encodeCommand, type CancelAllCommand } from "@bourse/engine";
import { partitionOf } from "../partitioning.js";
import { subjects } from "../protocol.js";
import { buildCommand, type CancelAllInput } from "./commands.js";
import { BoursePublishError } from "./errors.js";
import { clientLimits } from "./limits.js";
import { publishCommand, type JsPublisher, type PublishPolicy } from "./publish.js";

/** Market token of the subject of a cancelAll that names no market (every market of the partition). */
export const ALL_MARKETS_TOKEN = "_";

export interface CancelAllResult {
  /** The cmdId of the call: retry with it to repeat the call idempotently. */
  cmdId: string;
  /** Partitions the command was logged in. */
  partitions: number[];
  /** The cmdId of each partition's command (the cancelled events carry these). */
  cmdIds: string[];
}

interface Target {
  partition: number;
  subject: string;
  cmd: CancelAllCommand;
}

/** Validates the input and publishes one command per partition concerned; resolves when all are acknowledged. */
export async function publishCancelAll(
  js: JsPublisher,
  account: string,
  input: CancelAllInput,
  partitions: number,
  policy: PublishPolicy,
): Promise<CancelAllResult> {
  const base = buildCommand("cancelAll", account, input);
  const targets = targetsOf(account, base, partitions);
  const failures: BoursePublishError[] = [];
  for (let i = 0; i < targets.length; i += clientLimits.cancelAllInFlightMax) {
    const chunk = targets.slice(i, i + clientLimits.cancelAllInFlightMax);
    const results = await Promise.allSettled(chunk.map((t) => publishCommand(js, t.subject, encodeCommand(t.cmd), t.cmd.cmdId, policy)));
    for (const r of results) if (r.status === "rejected") failures.push(r.reason as BoursePublishError);
  }
  if (failures.length > 0) {
    const attempts = Math.max(...failures.map((f) => f.attempts ?? 0));
    throw new BoursePublishError(base.cmdId, attempts, failures.some((f) => f.mayBeLogged !== false), { cause: failures[0] });
  }
  return { cmdId: base.cmdId, partitions: targets.map((t) => t.partition), cmdIds: targets.map((t) => t.cmd.cmdId) };
}

function targetsOf(account: string, base: CancelAllCommand, partitions: number): Target[] {
  if (base.market !== undefined) {
    const p = partitionOf(base.market, partitions);
    return [{ partition: p, subject: subjects.in(p, base.market, account), cmd: base }];
  }
  const out: Target[] = [];
  for (let p = 0; p < partitions; p++) {
    const cmd = buildCommand("cancelAll", account, { cmdId: `${base.cmdId}:${p}` });
    out.push({ partition: p, subject: subjects.in(p, ALL_MARKETS_TOKEN, account), cmd });
  }
  return out;
}
