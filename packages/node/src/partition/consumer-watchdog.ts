/**
 * Notices a partition loop that has stopped receiving its commands: the
 * ordered consumer can be lost with the NATS server that hosted it, and a loop
 * whose consumer is gone would look alive (it still answers queries) while the
 * log grows behind it. Found by `bourse sim --nats-faults`: partitions served
 * on, with their output stuck, for as long as the run lasted.
 *
 * When nothing was delivered for `stallMs`, it asks the stream directly for the
 * partition's next command after the last one applied (a message get with
 * `next_by_subj`, a single cheap request). A command that has waited in the log
 * for longer than `stallMs` proves the consumer stalled: the loop fails and its
 * supervisor restarts it from the snapshot, with a fresh consumer.
 */
import type { JetStreamManager, MsgRequest } from "@nats-io/jetstream";
import { STREAM_IN, subjects } from "../protocol.js";

export class ConsumerStalledError extends Error {
  override readonly name = "ConsumerStalledError";
  readonly code = "consumer_stalled";
}

export class ConsumerWatchdog {
  private lastProgressAt = Date.now();
  private checking = false;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly p: number,
    private readonly stallMs: number,
    private readonly onStall: (e: ConsumerStalledError) => void,
  ) {}

  /** A command was delivered. */
  progress(): void {
    this.lastProgressAt = Date.now();
  }

  /** Called from the loop's timer with the last input sequence applied; at most one check in flight. */
  check(lastInSeq: number): void {
    const idleMs = Date.now() - this.lastProgressAt;
    if (this.checking || idleMs < this.stallMs) return;
    this.checking = true;
    this.jsm.streams
      // STREAM.MSG.GET takes next_by_subj (with wildcards) since 2.9; nats.js types it only for direct gets.
      .getMessage(STREAM_IN, { seq: lastInSeq + 1, next_by_subj: subjects.inPartition(this.p) } as unknown as MsgRequest)
      .then((m) => {
        if (m === null) return this.progress(); // nothing waiting: idle, not stalled
        const waitedMs = Date.now() - m.time.getTime();
        if (waitedMs > this.stallMs) {
          this.onStall(new ConsumerStalledError(`partition ${this.p}: command at log sequence ${m.seq} has waited ${waitedMs} ms and nothing was delivered for ${idleMs} ms; restarting with a new consumer`));
        }
      })
      .catch(() => {
        // The stream cannot answer either (no leader, no connection): the output side's
        // failures and the supervisor deal with that; check again on the next tick.
      })
      .finally(() => {
        this.checking = false;
      });
  }
}
