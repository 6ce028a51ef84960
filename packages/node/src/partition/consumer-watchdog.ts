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
 *
 * The get scans the stream from where it starts to the partition's next command,
 * or to the end when there is none (nats-server 2.9 has no index for a wildcard).
 * An idle partition's last command can be millions of messages back, so each check
 * starts after what the previous check already scanned: the stream's last
 * sequence, read (stream info, cheap) before that check. Without this, every idle
 * partition rescanned the whole stream every 3 s, and the server's cost per command
 * grew with the log (bench e2e: 36 → 150+ µs per command within a minute; 22 % of
 * the server's CPU in `jsMsgGetRequest`).
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
  /** The stream's last sequence when a check last found nothing waiting: later checks start after it. */
  private scannedTo = 0;

  /** @param appliedInSeq the last input sequence the loop had applied when the consumer opened. */
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly p: number,
    private readonly stallMs: number,
    private readonly onStall: (e: ConsumerStalledError) => void,
    private appliedInSeq: number,
  ) {}

  /**
   * Called from the loop's timer with the last input sequence applied; at most one check
   * in flight. A sequence that moved since the previous call is progress: deliveries are
   * noticed here, once a tick, rather than by a clock read per command.
   */
  check(lastInSeq: number): void {
    if (lastInSeq !== this.appliedInSeq) {
      this.appliedInSeq = lastInSeq;
      return this.progress();
    }
    const idleMs = Date.now() - this.lastProgressAt;
    if (this.checking || idleMs < this.stallMs) return;
    this.checking = true;
    void this.scan(lastInSeq, idleMs)
      .catch(() => {
        // The stream cannot answer either (no leader, no connection): the output side's
        // failures and the supervisor deal with that; check again on the next tick.
      })
      .finally(() => {
        this.checking = false;
      });
  }

  /** The loop holds its commands on purpose (a snapshot being encoded in slices): not a stall. */
  holding(): void {
    this.progress();
  }

  private progress(): void {
    this.lastProgressAt = Date.now();
  }

  private async scan(lastInSeq: number, idleMs: number): Promise<void> {
    const end = (await this.jsm.streams.info(STREAM_IN)).state.last_seq;
    const from = Math.max(lastInSeq + 1, this.scannedTo + 1);
    if (from > end) return this.progress(); // nothing new in the whole stream
    // STREAM.MSG.GET takes next_by_subj (with wildcards) since 2.9; nats.js types it only for direct gets.
    const m = await this.jsm.streams.getMessage(STREAM_IN, { seq: from, next_by_subj: subjects.inPartition(this.p) } as unknown as MsgRequest);
    if (m === null) {
      // Nothing waiting: idle, not stalled. Whatever arrives later is after `end`.
      this.scannedTo = end;
      return this.progress();
    }
    const waitedMs = Date.now() - m.time.getTime();
    if (waitedMs > this.stallMs) {
      this.onStall(new ConsumerStalledError(`partition ${this.p}: command at log sequence ${m.seq} has waited ${waitedMs} ms and nothing was delivered for ${idleMs} ms; restarting with a new consumer`));
    }
  }
}
