/**
 * Partition leases in KV_LEASES: key `lease.<p>`, value JSON `{ owner, at }`.
 *
 * A lease is taken by compare-and-set and its KV revision is the EPOCH: revisions are
 * stream sequences, so every acquisition (create, takeover, re-take after a release)
 * gets a larger epoch than any before it. The holder fences its writes with the epoch
 * (isHeld, and the output stream's expected-sequence header); a holder whose epoch is
 * no longer the key's revision has lost the lease, whatever it believes.
 *
 * acquire() takes the lease unconditionally when this node is the assigned owner
 * (the caller checks the assignment table): liveness is the membership's business, the
 * lease only makes the handover atomic and visible.
 */
import assert from "node:assert/strict";
import type { KV, KvEntry } from "@nats-io/kv";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { MEMBER_ID_RE, silentLogger, type Logger } from "./membership.js";

const LEASE_PREFIX = "lease.";
export const leaseKey = (p: number): string => `${LEASE_PREFIX}${p}`;

/** The JSON value of `lease.<p>`. */
export interface LeaseValue {
  owner: string;
  /** Wall-clock ms of the acquisition: for people reading the bucket, never compared. */
  at: number;
}

export type LeaseErrorCode = "lease_conflict" | "lease_io" | "invalid_argument";

export class LeaseError extends Error {
  override readonly name: string = "LeaseError";
  constructor(
    readonly code: LeaseErrorCode,
    readonly partition: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Someone else wrote the lease between our read and our compare-and-set. */
export class LeaseLostError extends LeaseError {
  override readonly name = "LeaseLostError";
  declare readonly code: "lease_conflict";
  constructor(partition: number, message: string, options?: { cause?: unknown }) {
    super("lease_conflict", partition, message, options);
  }
}

export const isLeaseLost = (e: unknown): e is LeaseLostError => e instanceof LeaseLostError;

/** JetStream's answer to a failed expected-last-sequence check (a lost compare-and-set). */
export function isCasConflict(e: unknown): boolean {
  return (
    e instanceof JetStreamApiError &&
    (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export interface LeaseLoss {
  partition: number;
  /** The epoch we held. */
  epoch: number;
  /** The key's new revision. */
  revision: number;
  /** The new holder, or undefined if the key was deleted or purged. */
  owner: string | undefined;
}

export interface PartitionLeasesOptions {
  /** KV_LEASES. */
  kv: KV;
  id: string;
  /** Wall-clock ms for `at`; default Date.now(). */
  wallClock?: () => number;
  logger?: Logger;
}

type Watcher = Awaited<ReturnType<KV["watch"]>>;

export class PartitionLeases {
  readonly id: string;
  private readonly kv: KV;
  private readonly wallClock: () => number;
  private readonly log: Logger;
  /** Epoch per partition we acquired and have not released or seen lost. */
  private readonly held = new Map<number, number>();
  /** The loss of our latest epoch per partition, until we acquire or release again: told to late watchers. */
  private readonly lost = new Map<number, LeaseLoss>();
  private readonly lossListeners = new Map<number, Set<(loss: LeaseLoss) => void>>();
  /** The newest entry the watch delivered per partition (any holder): revision and owner (undefined: deleted). */
  private readonly latest = new Map<number, { revision: number; owner: string | undefined }>();
  private watcher: Promise<Watcher> | undefined;
  private watchLoop: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: PartitionLeasesOptions) {
    this.kv = opts.kv;
    this.id = opts.id;
    this.wallClock = opts.wallClock ?? Date.now;
    this.log = opts.logger ?? silentLogger;
    if (!MEMBER_ID_RE.test(this.id)) throw new LeaseError("invalid_argument", -1, `member id must match ${MEMBER_ID_RE}, got ${JSON.stringify(this.id)}`);
  }

  /**
   * Take lease p; resolves with its epoch. Already ours: the current epoch. Absent or
   * deleted: created. Someone else's: taken over by CAS on the revision read.
   * Throws LeaseLostError when another writer got in between, LeaseError("lease_io") on I/O failure.
   */
  async acquire(p: number, knownRevision?: number): Promise<number> {
    const key = leaseKey(checkPartition(p));
    if (knownRevision !== undefined && knownRevision > 0) {
      // The key's revision is known (releasedBy()): one compare-and-set, no read. Read
      // requests queue behind consumer creations on the server's JetStream API (nats-server
      // 2.9: ~10 ms each while a cluster takes partitions over); a publish does not.
      const value = JSON.stringify({ owner: this.id, at: this.wallClock() } satisfies LeaseValue);
      try {
        const epoch = await this.kv.update(key, value, knownRevision);
        this.hold(p, epoch);
        return epoch;
      } catch (e) {
        if (!isCasConflict(e)) throw new LeaseError("lease_io", p, `writing lease ${p} failed`, { cause: e });
        // It moved on since: the ordinary way below.
      }
    }
    const entry = await this.io(p, "read", () => this.kv.get(key));
    if (entry?.operation === "PUT" && ownerOf(entry) === this.id) {
      this.hold(p, entry.revision);
      return entry.revision;
    }
    const value = JSON.stringify({ owner: this.id, at: this.wallClock() } satisfies LeaseValue);
    let epoch: number;
    try {
      // No message on the key: create (expects none). Someone's lease or a delete marker: CAS on its revision.
      epoch = entry ? await this.kv.update(key, value, entry.revision) : await this.kv.create(key, value);
    } catch (e) {
      if (isCasConflict(e)) throw new LeaseLostError(p, `lease ${p} changed while ${this.id} was taking it`, { cause: e });
      throw new LeaseError("lease_io", p, `writing lease ${p} failed`, { cause: e });
    }
    assert.ok(epoch > (entry?.revision ?? 0), `lease ${p}: epoch ${epoch} not above the revision it replaced`);
    this.hold(p, epoch);
    return epoch;
  }

  /**
   * Resolves with lease p's revision once this node's watch shows it no longer held by
   * `holder` (released, or taken by anyone else); undefined if that is not seen within
   * `timeoutMs`. For acquire(p, revision) right after a handoff, without a read.
   */
  async releasedBy(p: number, holder: string, timeoutMs: number): Promise<number | undefined> {
    checkPartition(p);
    if (this.stopped) return undefined;
    await this.ensureWatch().catch(() => undefined);
    const end = performance.now() + timeoutMs;
    for (;;) {
      const l = this.latest.get(p);
      if (l !== undefined && l.owner !== holder) return l.revision;
      if (performance.now() >= end || this.stopped) return undefined;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Who holds lease p now (undefined when nobody does). */
  async holder(p: number): Promise<string | undefined> {
    const entry = await this.io(p, "read", () => this.kv.get(leaseKey(checkPartition(p))));
    return entry?.operation === "PUT" ? ownerOf(entry) : undefined;
  }

  /** True while lease p's current revision is `epoch` (nobody has written it since). */
  async isHeld(p: number, epoch: number): Promise<boolean> {
    checkEpoch(p, epoch);
    const key = leaseKey(checkPartition(p));
    const entry = await this.io(p, "read", () => this.kv.get(key));
    return entry?.operation === "PUT" && entry.revision === epoch;
  }

  /** Delete lease p if it is still at `epoch`; false when someone else already took it. */
  async release(p: number, epoch: number): Promise<boolean> {
    const key = leaseKey(checkPartition(p));
    checkEpoch(p, epoch); // 0 would make the delete unconditional
    if (this.held.get(p) === epoch) this.held.delete(p);
    if (this.lost.get(p)?.epoch === epoch) this.lost.delete(p);
    try {
      await this.kv.delete(key, { previousSeq: epoch });
      return true;
    } catch (e) {
      if (isCasConflict(e)) return false;
      throw new LeaseError("lease_io", p, `releasing lease ${p} failed`, { cause: e });
    }
  }

  /**
   * Call onLost when lease p, held by us (acquired and not released), moves to a revision
   * that is not ours. One watch on `lease.*` serves every partition. If our latest epoch
   * was already seen lost (between acquire() and watch()), onLost is called at once.
   * Returns an unsubscribe.
   */
  async watch(p: number, onLost: (loss: LeaseLoss) => void): Promise<() => void> {
    checkPartition(p);
    if (this.stopped) throw new LeaseError("invalid_argument", p, "watch() after stop()");
    const listeners = this.lossListeners.get(p) ?? new Set();
    this.lossListeners.set(p, listeners);
    listeners.add(onLost);
    try {
      await this.ensureWatch();
    } catch (e) {
      listeners.delete(onLost);
      throw e;
    }
    const already = this.lost.get(p);
    if (already) this.tell(onLost, already);
    return () => void listeners.delete(onLost);
  }

  /** Epochs this instance believes it holds (acquired, not released, not seen lost). */
  heldEpochs(): ReadonlyMap<number, number> {
    return this.held;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.lossListeners.clear();
    const watcher = await this.watcher?.catch(() => undefined);
    watcher?.stop();
    await this.watchLoop;
  }

  private ensureWatch(): Promise<Watcher> {
    if (!this.watcher) {
      const opening = this.io(-1, "watch", () => this.kv.watch({ key: `${LEASE_PREFIX}*` }));
      this.watcher = opening;
      opening.then(
        (w) => {
          if (this.stopped) w.stop();
          this.watchLoop = this.consume(w);
        },
        () => {
          if (this.watcher === opening) this.watcher = undefined; // let the next watch() try again
        },
      );
    }
    return this.watcher;
  }

  private async consume(watcher: Watcher): Promise<void> {
    try {
      for await (const e of watcher) this.onEntry(e);
    } catch (err) {
      this.log.error({ member: this.id, err }, "lease watch failed");
    }
    if (!this.stopped) {
      this.log.error({ member: this.id }, "lease watch ended; reopening on the next watch()");
      this.watcher = undefined;
    }
  }

  private onEntry(e: KvEntry): void {
    const p = Number(e.key.slice(LEASE_PREFIX.length));
    if (e.revision > (this.latest.get(p)?.revision ?? 0)) this.latest.set(p, { revision: e.revision, owner: e.operation === "PUT" ? ownerOf(e) : undefined });
    const epoch = this.held.get(p);
    if (epoch === undefined || e.revision <= epoch) return;
    this.held.delete(p);
    const loss: LeaseLoss = { partition: p, epoch, revision: e.revision, owner: e.operation === "PUT" ? ownerOf(e) : undefined };
    this.lost.set(p, loss);
    for (const fn of this.lossListeners.get(p) ?? []) this.tell(fn, loss);
  }

  private hold(p: number, epoch: number): void {
    this.held.set(p, epoch);
    this.lost.delete(p);
  }

  private tell(fn: (loss: LeaseLoss) => void, loss: LeaseLoss): void {
    try {
      fn(loss);
    } catch (err) {
      this.log.error({ member: this.id, partition: loss.partition, err }, "lease loss listener threw");
    }
  }

  private async io<T>(p: number, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new LeaseError("lease_io", p, `${what} of lease ${p} failed`, { cause: e });
    }
  }
}

function checkPartition(p: number): number {
  if (!Number.isInteger(p) || p < 0) throw new LeaseError("invalid_argument", p, `partition must be a non-negative integer, got ${p}`);
  return p;
}

function checkEpoch(p: number, epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 1) throw new LeaseError("invalid_argument", p, `epoch must be a positive integer, got ${epoch}`);
}

function ownerOf(e: KvEntry): string | undefined {
  try {
    const v = e.json<Partial<LeaseValue>>();
    return typeof v.owner === "string" ? v.owner : undefined;
  } catch {
    return undefined;
  }
}
