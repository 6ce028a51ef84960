/**
 * Receives every execution report (`bourse.evt.>`) on its own connection, as
 * the publishers' clients would, and tells the ledger when the first report of
 * each of our commands arrived. A report message holds one account's events of
 * one durable batch; a command's first event that names its cmdId (accepted,
 * rejected, cancelled...) completes it.
 */
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { decodeValue } from "@bourse/engine";
import { subjects, type ReportMessage } from "../../protocol.js";
import type { CommandLedger } from "./command-ledger.js";
import { BENCH_CONNECTION_OPTIONS } from "./publisher.js";
import { parseCmdId } from "./workload.js";

export class ReportListener {
  messages = 0;
  undecodable = 0;
  private readonly sub: Subscription;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly ledger: CommandLedger,
    private readonly tag: string,
  ) {
    this.sub = nc.subscribe(subjects.evt(">"), {
      callback: (err, m) => {
        if (err === null) this.onReport(m.data);
      },
    });
  }

  static async start(url: string, ledger: CommandLedger, tag: string): Promise<ReportListener> {
    const nc = await connect({ servers: [url], name: "bourse-bench-e2e-reports", ...BENCH_CONNECTION_OPTIONS });
    const l = new ReportListener(nc, ledger, tag);
    await nc.flush();
    return l;
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.close().catch(() => {});
  }

  private onReport(data: Uint8Array): void {
    const at = performance.now();
    let r: ReportMessage;
    try {
      r = decodeValue(data) as ReportMessage;
    } catch {
      this.undecodable++;
      return;
    }
    this.messages++;
    for (const e of r.events as { type: string; cmdId?: string }[]) {
      if (e.cmdId === undefined) continue;
      const id = parseCmdId(this.tag, e.cmdId);
      if (id === undefined) continue;
      this.ledger.reportedFor(id[0], id[1], at, e.type === "rejected");
    }
  }
}
