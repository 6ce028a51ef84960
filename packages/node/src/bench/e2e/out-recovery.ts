/**
 * Execution reports travel on core NATS, at most once: a report can be lost for
 * good when a partition changes owner (the new owner does not repeat reports of
 * output that was already durable), and clients recover such gaps from
 * BOURSE_OUT (docs/protocol.md). The benchmark does the same for commands whose
 * report does not come: it reads the partitions' durable output since the step
 * began and completes every command found there. A command that is in neither is
 * lost, which would be a bug.
 */
import { DeliverPolicy, type JetStreamClient } from "@nats-io/jetstream";
import { decodeEvents } from "@bourse/engine";
import { STREAM_OUT, subjects } from "../../protocol.js";
import type { CommandLedger } from "./command-ledger.js";
import { parseCmdId } from "./workload.js";

/** Reads bourse.out.<p> from `since` (epoch ms) for each partition; returns how many commands it completed. */
export async function recoverFromOutput(js: JetStreamClient, ledger: CommandLedger, tag: string, partitions: readonly number[], since: number): Promise<number> {
  let recovered = 0;
  for (const p of partitions) {
    const c = await js.consumers.get(STREAM_OUT, {
      filter_subjects: subjects.out(p),
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(since).toISOString(),
    });
    if ((await c.info()).num_pending === 0) continue;
    const it = await c.consume({ max_messages: 256 });
    for await (const m of it) {
      for (const e of decodeEvents(m.data) as { type: string; cmdId?: string }[]) {
        const id = e.cmdId === undefined ? undefined : parseCmdId(tag, e.cmdId);
        if (id !== undefined && ledger.recoveredFor(id[0], id[1], e.type === "rejected")) recovered++;
      }
      if (m.info.pending === 0) break;
    }
    it.stop();
  }
  return recovered;
}
