/**
 * Cluster membership over the KV bucket KV_MEMBERS, with a deadline failure detector.
 *
 * Each node puts its key `<id>` every heartbeatMsInterval; every put is a heartbeat.
 * Each node watches the whole bucket and stamps every heartbeat with its own monotonic
 * clock on receipt: a member is live while its last heartbeat arrived less than
 * failureMsTimeout ago. Remote timestamps (startedAt, the server's message time) are
 * never compared with anything: clocks differ between machines, receipt times do not.
 *
 * - A deleted or purged key is a graceful leave: the member is gone at once.
 * - A record with `leaving: true` (announceLeaving) says the member is handing its
 *   partitions off before it leaves: it is no longer live (the table gives it nothing)
 *   but still present (isLeaving), so successors ask it to release instead of taking over.
 * - The bucket's TTL (max_age) removes a crashed member's last heartbeat silently (the
 *   watch says nothing), so the deadline is what detects crashes.
 * - A node is always live to itself. It also hears its own heartbeats through the
 *   watch and uses them as the clock of its deadlines: a member is dead once this node
 *   has heard its OWN heartbeat failureMsTimeout after the member's last one. Hearing
 *   itself proves the watch delivered everything sequenced before, so a stalled watch
 *   or a frozen server (no heartbeat arrives, ours included) suspects nobody, rather
 *   than the whole cluster at once. Detection costs at most one heartbeat more than a
 *   plain timer. `isStale` says when the node has not heard itself for failureMsTimeout.
 * - Deadlines run on an own-heartbeat clock: each own heartbeat heard advances it by the
 *   time since the previous one, but by at most 2 heartbeat intervals. A longer gap is a
 *   stall (of this node, the server or the whole machine), and a stall is no evidence
 *   against anyone: after it, the first heartbeat to arrive is often our own, ahead of
 *   the others' equally delayed ones, and a plain clock would then declare every other
 *   member dead at once (seen under CPU starvation by `bourse bench failover`).
 * - Entries from the watch's initial snapshot count as heartbeats received now, so a
 *   member that crashed shortly before this node started looks live for up to one
 *   failureMsTimeout: a false "live", never a false "dead".
 * - Confirmation (optional `probe`, liveness.ts): once a member's last heartbeat is
 *   suspectMsAfter old on the same clock, the node asks whether the member's
 *   connection still exists, at most once per heartbeat interval. "gone" (no
 *   responders) drops the member at once, instead of at the deadline; anything else
 *   leaves it to the deadline. Heartbeats of a member confirmed gone that arrive
 *   within two heartbeat intervals (already in flight when it died) are ignored.
 */
import { EventEmitter } from "node:events";
import type { KV, KvWatchEntry } from "@nats-io/kv";

/** Structurally compatible with pino: `log.warn({ err }, "message")`. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export const MEMBERSHIP_DEFAULTS = {
  heartbeatMsInterval: 100,
  failureMsTimeout: 600,
  /** start() fails if this node has not heard its own first heartbeat by then. */
  startMsTimeout: 5_000,
  /** Delay before reopening a watch that ended on its own. */
  rewatchMsDelay: 250,
} as const;

/** One KV token: no dots or wildcards, so `<id>` is a key and a subject token. */
export const MEMBER_ID_RE = /^[-=\w]{1,64}$/;

/** The value of key `<id>` in KV_MEMBERS. */
export interface MemberRecord {
  id: string;
  /** Wall-clock ms when this incarnation started: informational, never compared. */
  startedAt: number;
  info: Record<string, unknown>;
  /** Set by announceLeaving(): handing off, about to leave. */
  leaving?: true;
}

export interface MembershipOptions {
  kv: KV;
  id: string;
  info?: Record<string, unknown>;
  heartbeatMsInterval?: number;
  failureMsTimeout?: number;
  /** Deadline check period; default heartbeatMsInterval / 2. */
  checkMsInterval?: number;
  startMsTimeout?: number;
  /** Monotonic ms; default performance.now(). */
  clock?: () => number;
  /** Wall-clock ms for startedAt; default Date.now(). */
  wallClock?: () => number;
  logger?: Logger;
  /** Asks whether a suspected member's connection is gone (liveness.ts); without it only the deadline detects. */
  probe?: (member: MemberRecord) => Promise<"gone" | "unknown">;
  /** Heartbeat age (own-heartbeat clock) at which a member is probed; default 2 × heartbeatMsInterval. */
  suspectMsAfter?: number;
}

export type MembershipErrorCode = "invalid_options" | "invalid_state" | "kv_failed" | "start_timeout" | "leave_failed";

export class MembershipError extends Error {
  override readonly name = "MembershipError";
  constructor(
    readonly code: MembershipErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

type Watcher = Awaited<ReturnType<KV["watch"]>>;
type State = "new" | "running" | "stopped";

export interface MembershipEvents {
  /** Sorted live member ids, self included; emitted whenever the set changes. */
  change: [live: string[]];
}

export class Membership extends EventEmitter<MembershipEvents> {
  readonly id: string;
  private readonly kv: KV;
  private readonly record: MemberRecord;
  private readonly heartbeatMsInterval: number;
  private readonly failureMsTimeout: number;
  private readonly checkMsInterval: number;
  private readonly startMsTimeout: number;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly probe: ((member: MemberRecord) => Promise<"gone" | "unknown">) | undefined;
  private readonly suspectMsAfter: number;
  /** Members being probed, and the own-heartbeat clock of each one's last probe. */
  private readonly probing = new Set<string>();
  private readonly probedAt = new Map<string, number>();
  /** Members confirmed gone, until (local clock) their in-flight heartbeats no longer count. */
  private readonly goneUntil = new Map<string, number>();

  private state: State = "new";
  /** When each other member's last heartbeat arrived (own-heartbeat clock), and what it said. */
  private readonly heard = new Map<string, { at: number; record: MemberRecord }>();
  private selfHeardAt: number | undefined;
  /** The own-heartbeat clock (ms) that deadlines are measured on; see the file comment. */
  private selfClock = 0;
  private firstPutRevision: number | undefined;
  private lastRevision = 0;
  private emitted: string[] | undefined;
  private stale = false;
  private putInFlight: Promise<void> | undefined;
  private putFailures = 0;
  private watcher: Watcher | undefined;
  private watchLoop: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private onReady: (() => void) | undefined;

  constructor(opts: MembershipOptions) {
    super();
    this.kv = opts.kv;
    this.id = opts.id;
    this.heartbeatMsInterval = opts.heartbeatMsInterval ?? MEMBERSHIP_DEFAULTS.heartbeatMsInterval;
    this.failureMsTimeout = opts.failureMsTimeout ?? MEMBERSHIP_DEFAULTS.failureMsTimeout;
    this.checkMsInterval = opts.checkMsInterval ?? Math.max(1, Math.floor(this.heartbeatMsInterval / 2));
    this.startMsTimeout = opts.startMsTimeout ?? MEMBERSHIP_DEFAULTS.startMsTimeout;
    this.clock = opts.clock ?? (() => performance.now());
    this.log = opts.logger ?? silentLogger;
    this.probe = opts.probe;
    this.suspectMsAfter = opts.suspectMsAfter ?? 2 * this.heartbeatMsInterval;
    validate(this.id, this.heartbeatMsInterval, this.failureMsTimeout, this.checkMsInterval);
    this.record = { id: this.id, startedAt: (opts.wallClock ?? Date.now)(), info: opts.info ?? {} };
  }

  /**
   * Watch the bucket, start heartbeating and resolve once this node has heard its own
   * first heartbeat: everything the watch delivered before it is the bucket's state, so
   * the first `change` (emitted here) is a complete view, not a partial one.
   */
  async start(): Promise<void> {
    if (this.state !== "new") throw new MembershipError("invalid_state", `start() on a ${this.state} Membership`);
    this.state = "running";
    try {
      await this.openWatch(0).catch((e: unknown) => {
        throw new MembershipError("kv_failed", `cannot watch the members bucket`, { cause: e });
      });
      this.every(this.heartbeatMsInterval, () => this.beat());
      this.every(this.checkMsInterval, () => this.recompute());
      this.beat();
      await this.untilReady();
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.recompute();
  }

  /** Sorted live member ids, self included (also once it announced leaving); members that announced leaving are not. */
  live(): string[] {
    const ids = [this.id];
    for (const [id, h] of this.heard) if (!this.pastDeadline(h.at) && h.record.leaving !== true) ids.push(id);
    return ids.sort(compareIds);
  }

  /** True for a member that announced leaving and is still heard from (it hands its partitions off). */
  isLeaving(id: string): boolean {
    if (id === this.id) return this.record.leaving === true;
    const h = this.heard.get(id);
    return h !== undefined && h.record.leaving === true && !this.pastDeadline(h.at);
  }

  /**
   * Tell the others this node is about to leave: every heartbeat from now on says so, and
   * the first goes out at once. They drop it from their live sets (and their tables) but
   * keep hearing it, so its partitions' successors ask it to release them.
   */
  async announceLeaving(): Promise<void> {
    if (this.state !== "running" || this.record.leaving === true) return;
    this.record.leaving = true;
    await this.putInFlight;
    try {
      await this.kv.put(this.id, JSON.stringify(this.record));
    } catch (e) {
      throw new MembershipError("kv_failed", `could not announce that ${this.id} is leaving`, { cause: e });
    }
  }

  /** The last record heard from a live member (self included). */
  member(id: string): MemberRecord | undefined {
    if (id === this.id) return this.record;
    return this.live().includes(id) ? this.heard.get(id)?.record : undefined;
  }

  /** True while this node has not heard its own heartbeat for failureMsTimeout; its deadlines are frozen meanwhile. */
  get isStale(): boolean {
    return this.stale;
  }

  /** Graceful leave: stop heartbeating, then delete our key so the others drop us at once. */
  async leave(): Promise<void> {
    if (this.state !== "running") return;
    await this.stop();
    try {
      await this.kv.delete(this.id);
    } catch (e) {
      // The bucket TTL and the others' deadlines still remove us, only later.
      throw new MembershipError("leave_failed", `could not delete member key ${this.id}`, { cause: e });
    }
  }

  /**
   * Stop without deleting our key (what a crash looks like to the others). Waits for an
   * in-flight heartbeat: otherwise it could land after a leave()'s delete and resurrect us.
   */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.onReady?.();
    const watcher = this.watcher;
    this.watcher = undefined;
    watcher?.stop();
    await Promise.all([this.watchLoop, this.putInFlight]);
  }

  /** One heartbeat, unless one is still in flight: a slow server costs heartbeats, not a queue of them. */
  private beat(): void {
    if (this.state !== "running" || this.putInFlight) return;
    const put = this.kv.put(this.id, JSON.stringify(this.record)).then(
      (revision) => {
        this.firstPutRevision ??= revision;
        if (this.putFailures > 0) this.log.info({ member: this.id, failures: this.putFailures }, "membership heartbeats recovered");
        this.putFailures = 0;
      },
      (err: unknown) => {
        // Logged once per outage, not ten times a second; the next tick retries.
        if (this.putFailures++ === 0) this.log.warn({ member: this.id, err }, "membership heartbeat failed");
      },
    );
    this.putInFlight = put.finally(() => {
      this.putInFlight = undefined;
    });
  }

  private async openWatch(fromRevision: number): Promise<void> {
    const watcher = await this.kv.watch(fromRevision > 0 ? { key: ">", resumeFromRevision: fromRevision } : { key: ">" });
    if (this.state !== "running") {
      watcher.stop();
      return;
    }
    this.watcher = watcher;
    this.watchLoop = this.consume(watcher);
  }

  private async consume(watcher: Watcher): Promise<void> {
    try {
      for await (const e of watcher) this.onEntry(e);
    } catch (err) {
      this.log.error({ member: this.id, err }, "membership watch failed");
    }
    if (this.state !== "running" || this.watcher !== watcher) return;
    // Resume after the last revision seen: replaying the snapshot would refresh dead members.
    this.log.warn({ member: this.id, fromRevision: this.lastRevision + 1 }, "membership watch ended; reopening");
    this.watcher = undefined;
    this.reopenWatchLater();
  }

  private reopenWatchLater(): void {
    this.after(MEMBERSHIP_DEFAULTS.rewatchMsDelay, () => {
      this.openWatch(this.lastRevision + 1).catch((err: unknown) => {
        this.log.error({ member: this.id, err }, "membership watch could not be reopened");
        if (this.state === "running") this.reopenWatchLater();
      });
    });
  }

  private onEntry(e: KvWatchEntry): void {
    const now = this.clock();
    this.lastRevision = Math.max(this.lastRevision, e.revision);
    if (e.key === this.id) {
      this.onOwnEntry(e, now);
    } else if (e.operation !== "PUT") {
      this.heard.delete(e.key);
    } else if ((this.goneUntil.get(e.key) ?? -Infinity) > now) {
      // Sent before the member died, delivered after we confirmed it gone.
    } else {
      this.goneUntil.delete(e.key);
      const record = parseRecord(e);
      if (record) this.heard.set(e.key, { at: this.selfClockAt(now), record });
      else this.log.warn({ member: this.id, key: e.key, revision: e.revision }, "ignoring malformed member record");
    }
    this.recompute();
  }

  private onOwnEntry(e: KvWatchEntry, now: number): void {
    if (e.operation !== "PUT") {
      if (this.state === "running") this.log.warn({ member: this.id, revision: e.revision }, "our member key was deleted; the next heartbeat restores it");
      return;
    }
    this.selfClock = this.selfClockAt(now);
    this.selfHeardAt = now;
    if (this.onReady && this.firstPutRevision !== undefined && e.revision >= this.firstPutRevision) this.onReady();
  }

  private untilReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.after(this.startMsTimeout, () => {
        this.onReady = undefined;
        reject(new MembershipError("start_timeout", `member ${this.id} did not hear its own heartbeat within ${this.startMsTimeout} ms`));
      });
      this.onReady = () => {
        this.onReady = undefined;
        clearTimeout(timer);
        this.timers.delete(timer);
        resolve();
      };
    });
  }

  /** Emit `change` if the live set differs from the last one emitted; drop members past their deadline. */
  private recompute(): void {
    if (this.state !== "running" || this.selfHeardAt === undefined || this.onReady) return;
    const now = this.clock();
    const stale = now - this.selfHeardAt >= this.failureMsTimeout;
    if (stale !== this.stale) {
      this.stale = stale;
      if (stale) this.log.warn({ member: this.id }, "membership view stale: not hearing our own heartbeats; suspecting nobody");
      else this.log.info({ member: this.id }, "membership view fresh again");
    }
    for (const [id, h] of this.heard) {
      if (this.pastDeadline(h.at)) this.heard.delete(id);
      else if (this.selfClock - h.at >= this.suspectMsAfter && !stale) this.confirm(id, h);
    }
    const live = this.live();
    if (this.emitted && sameIds(this.emitted, live)) return;
    const before = new Set(this.emitted ?? []);
    const left = this.emitted?.filter((id) => !live.includes(id)) ?? [];
    this.log.info({ member: this.id, live, joined: live.filter((id) => !before.has(id)), left }, "membership changed");
    this.emitted = live;
    try {
      this.emit("change", [...live]);
    } catch (err) {
      this.log.error({ member: this.id, err }, "membership change listener threw");
    }
  }

  /** Probes a suspected member (at most once per heartbeat interval); drops it when its connection is gone. */
  private confirm(id: string, h: { at: number; record: MemberRecord }): void {
    if (!this.probe || this.probing.has(id)) return;
    const last = this.probedAt.get(id);
    if (last !== undefined && last >= h.at && this.selfClock - last < this.heartbeatMsInterval) return;
    this.probing.add(id);
    this.probedAt.set(id, this.selfClock);
    const silentMs = Math.round(this.selfClock - h.at);
    this.probe(h.record)
      .catch(() => "unknown" as const)
      .then((verdict) => {
        this.probing.delete(id);
        // A heartbeat that arrived meanwhile wins: the member is not gone.
        if (verdict !== "gone" || this.heard.get(id) !== h || this.state !== "running") return;
        this.heard.delete(id);
        this.probedAt.delete(id);
        this.goneUntil.set(id, this.clock() + 2 * this.heartbeatMsInterval);
        this.log.info({ member: this.id, suspect: id, silentMs }, "member's connection is gone (no responders): failed before its deadline");
        this.recompute();
      });
  }

  /** A heartbeat received at `at` (own-heartbeat clock) is too old once we have heard ourselves failureMsTimeout later. */
  private pastDeadline(at: number): boolean {
    return this.selfHeardAt !== undefined && this.selfClock - at >= this.failureMsTimeout;
  }

  /** The own-heartbeat clock at local time `now`: what passed since we last heard ourselves counts up to 2 heartbeats. */
  private selfClockAt(now: number): number {
    return this.selfHeardAt === undefined ? this.selfClock : this.selfClock + Math.min(now - this.selfHeardAt, 2 * this.heartbeatMsInterval);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
  }

  private after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
    return t;
  }
}

function validate(id: string, heartbeatMsInterval: number, failureMsTimeout: number, checkMsInterval: number): void {
  if (!MEMBER_ID_RE.test(id)) throw new MembershipError("invalid_options", `member id must match ${MEMBER_ID_RE}, got ${JSON.stringify(id)}`);
  for (const [name, v] of Object.entries({ heartbeatMsInterval, failureMsTimeout, checkMsInterval })) {
    if (!Number.isInteger(v) || v < 1) throw new MembershipError("invalid_options", `${name} must be a positive integer, got ${v}`);
  }
  // Fewer than two heartbeats per timeout and one delayed heartbeat is a false suspicion.
  if (failureMsTimeout < 2 * heartbeatMsInterval) {
    throw new MembershipError("invalid_options", `failureMsTimeout (${failureMsTimeout}) must be at least 2 × heartbeatMsInterval (${heartbeatMsInterval})`);
  }
}

function parseRecord(e: KvWatchEntry): MemberRecord | undefined {
  try {
    const r = e.json<Partial<MemberRecord>>();
    if (r.id !== e.key || typeof r.startedAt !== "number" || typeof r.info !== "object" || r.info === null) return undefined;
    return { id: r.id, startedAt: r.startedAt, info: r.info, ...(r.leaving === true ? { leaving: true as const } : {}) };
  } catch {
    return undefined;
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
