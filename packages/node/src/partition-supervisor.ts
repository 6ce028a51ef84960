import { FencedError } from "./partition/output-publisher.js";
import { PartitionRunner } from "./partition/partition-runner.js";
import type { PartitionDeps, PartitionTuning } from "./partition/deps.js";
import { LeaseError, isLeaseLost, type PartitionLeases } from "./lease.js";
import type { Logger } from "./logger.js";
import type { NodeMetrics } from "./metrics.js";
import type { PartitionHealth } from "./http-server.js";
import type { PreparingPartitions, ReleaseReply } from "./handoff-request.js";

export interface SupervisorLimits {
  partitionRestartsMax: number;
  restartMsBackoffBase: number;
  restartMsBackoffMax: number;
}

/** How long a new owner waits for a live previous owner to hand the partition off. */
const HANDOFF_MS_WAIT = 3_000;
const HANDOFF_MS_POLL = 20;

/** How a successor takes a partition from a live previous owner (handoff-request.ts). */
export interface HandoffHooks {
  /** Asks the previous owner to release the partition; null: no answer. */
  ask: (holder: string, p: number) => Promise<ReleaseReply | null>;
  /** The node's partitions preparing: a prepared one asks once none is. */
  preparing: PreparingPartitions;
}
/** A runner recovered up to its consumer before the lease, and what the previous owner answered. */
interface Prepared {
  runner: PartitionRunner;
  /** The lease's revision once released, from this node's lease watch (acquire without a read). */
  leaseRevision: number | undefined;
  /** The previous owner answered that it let go (or held nothing). */
  released: boolean;
}

/** The longest a prepared partition waits for the node's other preparations before it asks. */
const PREPARED_MS_WAIT = 2_000;

/**
 * Supervision level 2 for one partition this node owns: takes the lease (its
 * revision is the epoch), runs the partition loop, and when the loop fails
 * rebuilds it from snapshot plus replay with exponential backoff; after
 * `partitionRestartsMax` consecutive failures (a loop that served for at least
 * `restartMsBackoffMax` before it failed starts the count again) it gives the lease up and alerts, and the node takes the
 * partition again after a pause (BourseNode, GAVE_UP_RETRY_MS).
 * A fenced loop (another owner wrote) is not restarted: ownership moved.
 */
export class PartitionSupervisor {
  private runner: PartitionRunner | null = null;
  private stopped = false;
  private failures = 0;
  /** Consecutive failures put down to JetStream being unreachable (backoff only). */
  private outageFailures = 0;
  private epoch = 0;
  private unwatch: (() => void) | null = null;
  readonly done: Promise<void>;
  detail = "acquiring lease";
  /** Why the loop ended: asked to stop, fenced by another owner, or gave up after failures. */
  endReason: "stopped" | "fenced" | "gave_up" = "stopped";

  constructor(
    readonly p: number,
    private readonly deps: PartitionDeps,
    private readonly tuning: PartitionTuning,
    private readonly leases: PartitionLeases,
    private readonly limits: SupervisorLimits,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
    private readonly alert: (message: string, extra: Record<string, unknown>) => void,
    /** Is this member alive? A live previous owner is handing off: wait for its release. */
    private readonly isLive: (member: string) => boolean = () => false,
    /** Without it, a successor waits for the previous owner's own release (no prepared handoff). */
    private readonly handoff: HandoffHooks | null = null,
    /** True while this node cannot reach JetStream (its membership view is stale): failures then are not the partition's. */
    private readonly jetStreamDown: () => boolean = () => false,
  ) {
    this.done = this.loop();
  }

  health(): PartitionHealth {
    const serving = this.runner?.state === "serving";
    return serving ? { partition: this.p, serving } : { partition: this.p, serving, detail: this.detail };
  }

  /** The loop has ended or is ending (stopped, fenced, gave up): it will not serve again. */
  get ended(): boolean {
    return this.stopped;
  }

  /** The last command the partition's loop applied (0 before it restored anything). */
  get lastInSeq(): number {
    return this.runner?.lastInSeq ?? 0;
  }

  /** Where the loop's durable output ended, if it handed off with every batch acknowledged. */
  get handoffPosition(): { lastSeq: number; streamSeq: number } | null {
    return this.runner?.handoffPosition ?? null;
  }

  /**
   * Stops the loop; with handoff, output is flushed, a snapshot stored (unless `snapshot` is
   * false: a prepared successor asked) and the lease released.
   */
  async stop(handoff: boolean, snapshot = true): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    await this.runner?.stop(handoff, snapshot).catch((e: unknown) => this.log.warn({ err: e, partition: this.p }, "handoff incomplete"));
    await this.done;
    if (handoff && this.epoch > 0) await this.leases.release(this.p, this.epoch).catch(() => false);
  }

  private async loop(): Promise<void> {
    let prepared: Prepared | null = null;
    let first = true;
    while (!this.stopped) {
      this.runner = null;
      try {
        if (first) {
          first = false;
          prepared = await this.prepareHandoff();
        }
        const waitStart = performance.now();
        const knownRevision = prepared?.leaseRevision;
        this.detail = "waiting for the previous owner's handoff";
        // Released on request: the previous owner holds no loop for the partition any more
        // (also when it answered for a lease an earlier incarnation of its id left behind).
        if (prepared?.released !== true) await this.awaitHandoff();
        this.detail = "acquiring lease";
        const acquireStart = performance.now();
        this.epoch = await this.leases.acquire(this.p, knownRevision);
        this.unwatch = await this.leases.watch(this.p, (loss) => this.onLeaseLost(loss.owner));
        if (this.stopped) {
          void prepared?.runner.stop(false);
          return;
        }
        const waitMs = Math.round(acquireStart - waitStart);
        this.log.info({ partition: this.p, epoch: this.epoch, waitMs, acquireMs: Math.round(performance.now() - acquireStart) }, "lease acquired");
        this.detail = "recovering";
        this.runner = prepared?.runner ?? new PartitionRunner(this.p, this.deps, this.tuning, 0);
        prepared = null;
        this.runner.assignEpoch(this.epoch);
        await this.runner.run();
        return;
      } catch (e) {
        this.unwatch?.();
        void prepared?.runner.stop(false);
        prepared = null;
        if (this.stopped) return;
        if (e instanceof FencedError || isLeaseLost(e)) return this.fenced(e);
        if (await this.failed(e)) return;
      }
    }
  }

  /**
   * Make before break (handoff-request.ts): when a live node holds the lease, recover as
   * far as the lease allows while it still serves — snapshot, engine, consumer — then ask
   * it to let go. Its reply says how far it got, so the runner serves only once it has
   * applied as much. Null when there is nobody to ask or preparing failed: the ordinary
   * recovery after the lease then does it all.
   */
  private async prepareHandoff(): Promise<Prepared | null> {
    const h = this.handoff;
    if (h === null) return null;
    const holder = await this.leases.holder(this.p);
    if (holder === undefined || holder === this.leases.id || !this.isLive(holder)) return null;
    this.detail = "preparing while the previous owner serves";
    const started = performance.now();
    const r = new PartitionRunner(this.p, this.deps, this.tuning, 0);
    this.runner = r;
    const prepared = h.preparing.begin();
    try {
      await r.prepare();
    } catch (e) {
      this.log.warn({ err: e, partition: this.p, holder }, "handoff preparation failed; recovering after the release instead");
      this.runner = null;
      void r.stop(false);
      return null;
    } finally {
      prepared();
    }
    const preparedAt = performance.now();
    await h.preparing.idle(PREPARED_MS_WAIT);
    if (this.stopped) return null; // stop() stopped r
    const asked = performance.now();
    this.detail = "asking the previous owner to release";
    // "Not yet" (its table does not move p yet) is asked again until the handoff wait is over.
    let reply = await h.ask(holder, this.p);
    while (reply?.released === false && !this.stopped && performance.now() - asked < HANDOFF_MS_WAIT) {
      await new Promise((r) => setTimeout(r, HANDOFF_MS_POLL));
      reply = await h.ask(holder, this.p);
    }
    let leaseRevision: number | undefined;
    if (reply?.released === true) {
      if (reply.lastInSeq !== undefined) r.expectApplied(reply.lastInSeq);
      if (reply.output !== undefined) r.startFromPosition(reply.output);
      // The release is on its way through this node's lease watch: take the lease on its revision, no read.
      leaseRevision = await this.leases.releasedBy(this.p, holder, HANDOFF_MS_POLL * 10);
    }
    this.log.info(
      {
        partition: this.p, holder, prepareMs: Math.round(preparedAt - started), othersMs: Math.round(asked - preparedAt), releaseMs: Math.round(performance.now() - asked),
        released: reply?.released ?? null, ...(reply?.released === false ? { reason: reply.reason } : {}),
      },
      "handoff prepared",
    );
    return { runner: r, leaseRevision, released: reply?.released === true };
  }

  /**
   * A graceful move (rebalance, SIGTERM): the previous owner is alive and flushes,
   * snapshots and releases. Taking over before that would only get one of us
   * fenced; a dead owner's lease is taken at once.
   */
  private async awaitHandoff(): Promise<void> {
    const end = performance.now() + HANDOFF_MS_WAIT;
    while (!this.stopped && performance.now() < end) {
      const h = await this.leases.holder(this.p);
      if (h === undefined || h === this.leases.id || !this.isLive(h)) return;
      await new Promise((r) => setTimeout(r, HANDOFF_MS_POLL));
    }
  }

  private onLeaseLost(owner: string | undefined): void {
    if (this.stopped) return;
    this.endReason = "fenced";
    this.metrics.fencing.inc({ kind: "lease" });
    this.log.warn({ partition: this.p, owner }, "lease taken by another node; stopping the partition");
    this.stopped = true;
    void this.runner?.stop(false);
  }

  private fenced(e: unknown): void {
    this.stopped = true;
    this.endReason = "fenced";
    this.detail = "fenced";
    this.metrics.fencing.inc({ kind: "sequence" });
    this.log.error({ err: e, partition: this.p }, "partition fenced: another owner wrote its output; stopped");
    this.alert(`partition ${this.p} fenced on this node`, { partition: this.p, error: String(e) });
  }

  /** Records a failure and waits out the backoff; true when the node gives up. */
  private async failed(e: unknown): Promise<boolean> {
    // Consecutive failures: a loop that served for a while was a success, however it ended (a
    // NATS server lost an hour later is not the fifth failure of a series). "A while" is the
    // longest backoff: a loop that fails right after it starts serving still counts.
    const r = this.runner;
    if (r !== null && r.servingAt > 0 && performance.now() - r.servingAt >= this.limits.restartMsBackoffMax) this.failures = 0;
    this.metrics.partitionRestarts.inc();
    const { partitionRestartsMax: max, restartMsBackoffBase: base, restartMsBackoffMax: cap } = this.limits;
    // A lease read or write that failed, or any failure while this node cannot reach
    // JetStream, says nothing about the partition: back off, but do not count it towards
    // giving up. (A `bourse sim --nats-faults` run with two of three NATS servers down for
    // 9.5 s: five partitions gave up on lease-read timeouts and stayed unserved for 30 s.)
    if ((e instanceof LeaseError && e.code === "lease_io") || this.jetStreamDown()) {
      this.outageFailures++;
      this.log.warn({ err: e, partition: this.p, failures: this.failures }, "partition loop failed while JetStream is unreachable; retrying");
      this.detail = "backing off: JetStream unreachable";
      await new Promise((r) => setTimeout(r, Math.min(cap, base * 2 ** Math.min(this.outageFailures - 1, 16))));
      return false;
    }
    this.outageFailures = 0;
    this.failures++;
    this.log.error({ err: e, partition: this.p, failures: this.failures }, "partition loop failed");
    if (this.failures >= max) {
      this.detail = `gave up after ${this.failures} failures`;
      await this.leases.release(this.p, this.epoch).catch(() => false);
      this.alert(`partition ${this.p} gave up after ${this.failures} failures; lease released`, { partition: this.p, error: String(e) });
      this.stopped = true;
      this.endReason = "gave_up";
      return true;
    }
    this.detail = `backing off after failure ${this.failures}/${max}`;
    await new Promise((r) => setTimeout(r, Math.min(cap, base * 2 ** (this.failures - 1))));
    return false;
  }
}
