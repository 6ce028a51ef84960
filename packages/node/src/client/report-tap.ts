import { connect, type ConnectionOptions, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { decodeValue } from "@bourse/engine";
import { subjects, type ReportMessage } from "../protocol.js";

/**
 * Every account's execution reports (`bourse.evt.>`) on a connection of its own, decoded
 * and handed to `onReport`: for tools that watch a whole cluster (bench e2e, bourse sim).
 * A trading client reads its own account's reports through BourseClient instead, which
 * also detects and recovers gaps.
 */
export class ReportTap {
  /** Report messages decoded, and ones that were not msgpack. */
  messages = 0;
  undecodable = 0;
  private readonly sub: Subscription;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly onReport: (r: ReportMessage) => void,
  ) {
    this.sub = nc.subscribe(subjects.evt(">"), {
      callback: (err, m) => {
        if (err === null) this.receive(m.data);
      },
    });
  }

  /** Connects, subscribes, and resolves once the server holds the subscription. */
  static async open(options: ConnectionOptions, onReport: (r: ReportMessage) => void): Promise<ReportTap> {
    const nc = await connect(options);
    const tap = new ReportTap(nc, onReport);
    await nc.flush();
    return tap;
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.close().catch(() => {});
  }

  private receive(data: Uint8Array): void {
    let r: ReportMessage;
    try {
      r = decodeValue(data) as ReportMessage;
    } catch {
      this.undecodable++;
      return;
    }
    this.messages++;
    this.onReport(r);
  }
}
