import { DeliverPolicy, type Consumer, type ConsumerMessages, type JetStreamClient } from "@nats-io/jetstream";
import { STREAM_IN, subjects } from "../protocol.js";

/** Messages a consumer pulls at a time (nats.js `consume`). */
const PULL_MESSAGES_MAX = 2_000;

/**
 * A partition's command consumers: nats.js ordered consumers on `bourse.in.<p>.>` from a
 * given log position, each deleted on the server when closed. (nats.js creates ordered
 * consumers with a 5-minute inactivity threshold and stopping one does not delete it, so
 * every partition loop that stopped used to leave its consumer behind for 5 minutes.)
 */
export class CommandConsumers {
  private readonly live = new Map<ConsumerMessages, Consumer>();
  /** Milliseconds the last consumer took to open (its creation and first pull), for the log lines. */
  lastSetupMs: number | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly p: number,
  ) {}

  /** An ordered consumer of the partition's commands from `startSeq`, consuming. */
  async open(startSeq: number): Promise<ConsumerMessages> {
    const at = performance.now();
    const consumer = await this.js.consumers.get(STREAM_IN, {
      filter_subjects: subjects.inPartition(this.p),
      ...(startSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq } : { deliver_policy: DeliverPolicy.All }),
    });
    const messages = await consumer.consume({ max_messages: PULL_MESSAGES_MAX });
    this.live.set(messages, consumer);
    this.lastSetupMs = Math.round(performance.now() - at);
    return messages;
  }

  /** Stops a consumer and deletes it on the server (not waiting for the deletion). */
  close(m: ConsumerMessages): void {
    m.stop();
    const c = this.live.get(m);
    this.live.delete(m);
    void c?.delete().catch(() => {});
  }

  /** Closes every consumer still open. */
  closeAll(): void {
    for (const m of [...this.live.keys()]) this.close(m);
  }
}
