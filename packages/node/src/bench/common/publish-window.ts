import type { JetStreamClient, JetStreamPublishOptions } from "@nats-io/jetstream";

/**
 * Acknowledged JetStream publishes with a bounded number in flight (one
 * connection, so the stream stores them in publish order). The first failure
 * is thrown by the next publish() or by flush().
 */
export class PublishWindow {
  private inflight = 0;
  private waiters: (() => void)[] = [];
  private failure: unknown = null;
  /** Acks that said "duplicate": the stream did not store the message. */
  duplicates = 0;
  /** Stream sequence of the highest ack so far. */
  lastSeq = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly max: number,
  ) {}

  async publish(subject: string, data: Uint8Array, opts: Partial<JetStreamPublishOptions>): Promise<void> {
    while (this.inflight >= this.max) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure !== null) throw this.failure;
    this.inflight++;
    this.js.publish(subject, data, opts).then(
      (ack) => {
        if (ack.duplicate) this.duplicates++;
        if (ack.seq > this.lastSeq) this.lastSeq = ack.seq;
        this.done();
      },
      (e: unknown) => {
        this.failure ??= e;
        this.done();
      },
    );
  }

  /** Resolves once every publish so far is acknowledged; throws the first failure. */
  async flush(): Promise<void> {
    while (this.inflight > 0) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure !== null) throw this.failure;
  }

  private done(): void {
    this.inflight--;
    this.waiters.shift()?.();
  }
}
