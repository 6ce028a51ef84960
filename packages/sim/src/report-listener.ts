/**
 * Listens to every account's execution reports (`bourse.evt.>`), as clients
 * would, and keeps what the checks and the latency figures need: each report
 * event by (partition, seq), and the time the first report for each command
 * arrived. Reports travel on core NATS: a missed one is not a violation (the
 * client recovers it from BOURSE_OUT); a report that differs from the durable
 * output is.
 */
import type { ConnectionOptions } from "@nats-io/transport-node";
import { ReportTap, canonical, type ReportMessage } from "@bourse/node";

export class ReportListener {
  /** "partition/seq" → the event as first reported (canonical JSON). */
  readonly reported = new Map<string, string>();
  /** Reported twice with different content: "partition/seq" → both versions. */
  readonly conflicts: { partition: number; seq: number; first: string; second: string }[] = [];
  /** cmdId → epoch ms of its first report. */
  readonly firstReportAt = new Map<string, number>();
  repeats = 0;
  private tap!: ReportTap;

  private constructor() {}

  static async start(options: ConnectionOptions): Promise<ReportListener> {
    const l = new ReportListener();
    l.tap = await ReportTap.open(options, (r) => l.onReport(r));
    return l;
  }

  /** Report messages received, and ones that could not be decoded. */
  get messages(): number {
    return this.tap.messages;
  }

  get undecodable(): number {
    return this.tap.undecodable;
  }

  close(): Promise<void> {
    return this.tap.close();
  }

  private onReport(r: ReportMessage): void {
    const now = Date.now();
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
