/**
 * One publisher connection of the benchmark: JetStream acknowledged publishes
 * through the client library's publishCommand (Nats-Msg-Id, Content-Type, the
 * same retry policy for every phase), counting publishes whose ack is
 * outstanding. The load loops (./load-loops.ts) decide when to publish.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { publishCommand, type PublishPolicy } from "../../client/publish.js";

/**
 * Publisher connections skip nats.js's async traces (an Error with a stack,
 * made up front for every request in case it fails: a quarter of the
 * publishing process's CPU when profiled). Both phases publish through the same
 * connections, so the raw limit and Bourse pay the same client costs.
 */
export const BENCH_CONNECTION_OPTIONS = { noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 250 } as const;

/** Under overload acks come late: wait long and retry a few times rather than count a slow ack as lost. */
export const BENCH_PUBLISH_POLICY: PublishPolicy = { attemptsMax: 5, ackMsTimeout: 10_000, backoffMsBase: 50, backoffMsMax: 1_000 };

export class BenchPublisher {
  /** Publishes awaiting their acknowledgement. */
  inFlight = 0;
  acked = 0;
  failed = 0;
  private wake: (() => void) | undefined;

  private constructor(
    readonly index: number,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
  ) {}

  static async connect(url: string, index: number, name: string): Promise<BenchPublisher> {
    const nc = await connect({ servers: [url], name: `${name}-${index}`, ...BENCH_CONNECTION_OPTIONS });
    return new BenchPublisher(index, nc, jetstream(nc, { timeout: BENCH_PUBLISH_POLICY.ackMsTimeout }));
  }

  /** Publishes without waiting; `done(stream sequence)` once acknowledged, `done(null)` after the last failed attempt. */
  publish(subject: string, data: Uint8Array, msgId: string, done: (seq: number | null) => void): void {
    this.inFlight++;
    publishCommand(this.js, subject, data, msgId, BENCH_PUBLISH_POLICY).then(
      ({ ack }) => {
        this.acked++;
        this.settle(done, ack.seq);
      },
      () => {
        this.failed++;
        this.settle(done, null);
      },
    );
  }

  /** Resolves at the next acknowledgement (or failure), or on nudge(). */
  nextAck(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  nudge(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits until no publish awaits its ack. */
  async settled(): Promise<void> {
    while (this.inFlight > 0) await this.nextAck();
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => {});
  }

  private settle(done: (seq: number | null) => void, seq: number | null): void {
    this.inFlight--;
    done(seq);
    this.nudge();
  }
}
