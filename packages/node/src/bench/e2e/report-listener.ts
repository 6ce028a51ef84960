/**
 * Receives every execution report (`bourse.evt.>`) on its own connection, as
 * the publishers' clients would, and tells the ledger when the first report of
 * each of our commands arrived. A report message holds one account's events of
 * one durable batch; a command's first event that names its cmdId (accepted,
 * rejected, cancelled...) completes it.
 */
import { ReportTap } from "../../client/report-tap.js";
import type { ReportMessage } from "../../protocol.js";
import type { CommandLedger } from "./command-ledger.js";
import { BENCH_CONNECTION_OPTIONS } from "./publisher.js";
import { parseCmdId } from "./workload.js";

export class ReportListener {
  private constructor(private readonly tap: ReportTap) {}

  static async start(url: string, ledger: CommandLedger, tag: string): Promise<ReportListener> {
    const options = { servers: [url], name: "bourse-bench-e2e-reports", ...BENCH_CONNECTION_OPTIONS };
    return new ReportListener(await ReportTap.open(options, (r) => record(r, ledger, tag)));
  }

  get messages(): number {
    return this.tap.messages;
  }

  close(): Promise<void> {
    return this.tap.close();
  }
}

function record(r: ReportMessage, ledger: CommandLedger, tag: string): void {
  const at = performance.now();
  for (const e of r.events as { type: string; cmdId?: string }[]) {
    if (e.cmdId === undefined) continue;
    const id = parseCmdId(tag, e.cmdId);
    if (id === undefined) continue;
    ledger.reportedFor(id[0], id[1], at, e.type === "rejected");
  }
}
