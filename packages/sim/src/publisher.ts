/**
 * One simulated publisher: its own NATS connection, an open-loop schedule at
 * its share of --rate, a window of acknowledged publishes in flight, retries
 * with the same message id (the client library's publishCommand). It records
 * what the command log acknowledged: those are the commands that must not be
 * lost.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { encodeCommand } from "@bourse/engine";
import { BoursePublishError, partitionOf, publishCommand, subjects, type PublishPolicy } from "@bourse/node";
import type { Draft, Workload } from "./workload.js";

export const PUBLISH_POLICY: PublishPolicy = { attemptsMax: 30, ackMsTimeout: 2_000, backoffMsBase: 50, backoffMsMax: 1_000 };
const WINDOW_MAX = 128;
/** An open loop that falls this far behind drops the missed slots instead of bursting. */
const CATCH_UP_MS_MAX = 1_000;

export interface AckedCommand {
  cmdId: string;
  partition: number;
  /** Stream sequence (= inSeq = orderId of a placement). */
  seq: number;
  /** Epoch ms of the first publish attempt. */
  sentAt: number;
  ackedAt: number;
  /** A repeat of an earlier command under a new message id. */
  resend: boolean;
}

export interface PublisherStats {
  sent: number;
  acked: number;
  resends: number;
  /** Publishes that were never acknowledged after every retry (they may or may not be logged). */
  unacked: number;
  /** Open-loop slots dropped because the window was full for too long. */
  dropped: number;
}

export class SimPublisher {
  readonly stats: PublisherStats = { sent: 0, acked: 0, resends: 0, unacked: 0, dropped: 0 };
  private inFlight = 0;
  private idle: (() => void) | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly workload: Workload,
    private readonly partitions: number,
    private readonly onAck: (a: AckedCommand) => void,
    private readonly onSend: (cmdId: string, at: number) => void,
  ) {}

  static async connect(options: ConnectionOptions, workload: Workload, partitions: number, onAck: (a: AckedCommand) => void, onSend: (cmdId: string, at: number) => void): Promise<SimPublisher> {
    const nc = await connect(options);
    return new SimPublisher(nc, workload, partitions, onAck, onSend);
  }

  /** Publishes at `rate` commands/s (open loop, bounded window) until `until()` says stop, then waits for the window to drain. */
  async run(rate: number, until: () => boolean): Promise<void> {
    const interval = 1000 / rate;
    let nextAt = performance.now();
    while (!until()) {
      const now = performance.now();
      if (now - nextAt > CATCH_UP_MS_MAX) {
        this.stats.dropped += Math.floor((now - nextAt) / interval);
        nextAt = now;
      }
      if (now < nextAt) {
        await sleep(Math.min(nextAt - now, 20));
        continue;
      }
      if (this.inFlight >= WINDOW_MAX) {
        await new Promise<void>((resolve) => (this.idle = resolve));
        continue;
      }
      nextAt += interval;
      void this.publish(this.workload.next());
    }
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** Publishes a list of commands (market definitions) and waits for every acknowledgement. */
  async publishAll(drafts: Draft[]): Promise<void> {
    await Promise.all(drafts.map((d) => this.publish(d)));
    if (this.stats.unacked > 0) throw new Error(`${this.stats.unacked} setup commands were not acknowledged`);
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => {});
  }

  private async publish(d: Draft): Promise<void> {
    const js = jetstream(this.nc);
    const p = partitionOf(d.market, this.partitions);
    const subject = subjects.in(p, d.market, d.cmd.account);
    const msgId = d.resend ? `${d.cmd.cmdId}~resend-${this.stats.resends}` : d.cmd.cmdId;
    const sentAt = Date.now();
    this.inFlight++;
    this.stats.sent++;
    if (d.resend) this.stats.resends++;
    else this.onSend(d.cmd.cmdId, sentAt);
    try {
      const { ack } = await publishCommand(js, subject, encodeCommand(d.cmd), msgId, PUBLISH_POLICY);
      this.stats.acked++;
      this.workload.acknowledged(d, ack.seq);
      this.onAck({ cmdId: d.cmd.cmdId, partition: p, seq: ack.seq, sentAt, ackedAt: Date.now(), resend: d.resend });
    } catch (e) {
      if (!(e instanceof BoursePublishError)) throw e;
      this.stats.unacked++;
    } finally {
      this.inFlight--;
      const wake = this.idle;
      this.idle = undefined;
      wake?.();
    }
  }
}
