/**
 * Availability as clients see it: every PROBE_MS_INTERVAL, a depth query to
 * every partition (`bourse.q.<p>`), answered or not within PROBE_MS_TIMEOUT.
 * Measured availability is the fraction answered.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { encodeValue } from "@bourse/engine";
import { subjects } from "@bourse/node";

export const PROBE_MS_INTERVAL = 250;
export const PROBE_MS_TIMEOUT = 500;

export class AvailabilityProbe {
  sent = 0;
  answered = 0;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly partitions: number,
  ) {}

  static async start(options: ConnectionOptions, partitions: number): Promise<AvailabilityProbe> {
    const nc = await connect(options);
    const p = new AvailabilityProbe(nc, partitions);
    p.loop = p.run();
    return p;
  }

  get availability(): number {
    return this.sent === 0 ? 1 : this.answered / this.sent;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.loop;
    await this.nc.close().catch(() => {});
  }

  private async run(): Promise<void> {
    const query = encodeValue({ kind: "depth", market: "-probe-", levels: 1 });
    while (!this.stopped) {
      const round = Array.from({ length: this.partitions }, async (_, p) => {
        try {
          await this.nc.request(subjects.query(p), query, { timeout: PROBE_MS_TIMEOUT });
          this.answered++;
        } catch {
          // no responders, a timeout, a dropped connection: unavailable
        }
        this.sent++;
      });
      await Promise.all([...round, sleep(PROBE_MS_INTERVAL)]);
    }
  }
}
