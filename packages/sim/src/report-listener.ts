/**
 * Listens to every account's execution reports (`bourse.evt.>`), as clients
 * would, and keeps what the checks and the latency figures need: each report
 * event by (partition, seq), and the time the first report for each command
 * arrived. Reports travel on core NATS: a missed one is not a violation (the
 * client recovers it from BOURSE_OUT); a report that differs from the durable
 * output is.
 */
import { connect, type ConnectionOptions, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { decodeValue } from "@bourse/engine";
import { canonical, type ReportMessage } from "@bourse/node";

export class ReportListener {
  /** "partition/seq" → the event as first reported (canonical JSON). */
  readonly reported = new Map<string, string>();
  /** Reported twice with different content: "partition/seq" → both versions. */
  readonly conflicts: { partition: number; seq: number; first: string; second: string }[] = [];
  /** cmdId → epoch ms of its first report. */
  readonly firstReportAt = new Map<string, number>();
  messages = 0;
  repeats = 0;
  undecodable = 0;
  private readonly sub: Subscription;

  private constructor(private readonly nc: NatsConnection) {
    this.sub = nc.subscribe("bourse.evt.>", { callback: (err, m) => (err ? undefined : this.onMessage(m.data)) });
  }

  static async start(options: ConnectionOptions): Promise<ReportListener> {
    const nc = await connect(options);
    const l = new ReportListener(nc);
    await nc.flush();
    return l;
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.close().catch(() => {});
  }

  private onMessage(data: Uint8Array): void {
    const now = Date.now();
    let r: ReportMessage;
    try {
      r = decodeValue(data) as ReportMessage;
    } catch {
      this.undecodable++;
      return;
    }
    this.messages++;
    for (const e of r.events as { seq: number; cmdId?: string }[]) {
      const key = `${r.partition}/${e.seq}`;
      const c = canonical(e);
      const prior = this.reported.get(key);
      if (prior === undefined) this.reported.set(key, c);
      else {
        this.repeats++;
        if (prior !== c) this.conflicts.push({ partition: r.partition, seq: e.seq, first: prior, second: c });
      }
      if (e.cmdId !== undefined && !this.firstReportAt.has(e.cmdId)) this.firstReportAt.set(e.cmdId, now);
    }
  }
}
