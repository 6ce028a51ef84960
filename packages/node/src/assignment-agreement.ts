/**
 * Agreement on the partition assignment table (docs/adr/0002-partition-assignment.md).
 *
 * The table lives in KV_LEASES under ASSIGNMENT_KEY as JSON `{ owners, members }`. On a
 * membership change a node reads it, computes `rebalance(prev.owners, live, P)` and, if
 * that differs, writes it with compare-and-set on the revision it read. Nodes with the
 * same view compute the same table, so whichever CAS wins, the result is the same; a
 * loser re-reads and recomputes from the winner's table (bounded attempts, then the
 * next watched value triggers another try).
 *
 * Safety: the table this node writes gives partitions only to members it considers
 * live (rebalance assigns to `live` only), and `live` always contains this node.
 * Updates are serialized per node and coalesced: each run uses the newest view asked
 * for, so a node's last write always reflects its last view, and once all views agree
 * the table is the one for that view.
 */
import { EventEmitter } from "node:events";
import type { KV, KvEntry } from "@nats-io/kv";
import { initialAssignment, partitionsOf, rebalance } from "./assignment.js";
import { isCasConflict } from "./lease.js";
import { MEMBER_ID_RE, silentLogger, type Logger } from "./membership.js";
import { ASSIGNMENT_KEY } from "./protocol.js";

export const AGREEMENT_DEFAULTS = {
  /** CAS write attempts per update before leaving it to the next watched value. */
  casAttemptsMax: 5,
  /** start() waits at most this long for the watch to deliver the current table. */
  startMsTimeout: 5_000,
} as const;

/** The JSON value of ASSIGNMENT_KEY. */
export interface AssignmentValue {
  /** Owner member id per partition; length P. */
  owners: string[];
  /** Sorted ids of the members the table was computed for. */
  members: string[];
}

export interface AssignmentTable {
  readonly owners: readonly string[];
  readonly members: readonly string[];
  /** KV revision of the entry holding this table. */
  readonly revision: number;
}

export type UpdateResult =
  | { outcome: "created" | "updated" | "unchanged"; table: AssignmentTable }
  /** Every CAS attempt lost: the next table the watch delivers triggers another try. */
  | { outcome: "gave_up" };

export type AgreementErrorCode = "invalid_options" | "invalid_state" | "invalid_table" | "partition_mismatch" | "kv_failed" | "start_timeout";

export class AgreementError extends Error {
  override readonly name = "AgreementError";
  constructor(
    readonly code: AgreementErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface AssignmentAgreementOptions {
  /** KV_LEASES. */
  kv: KV;
  id: string;
  partitions: number;
  casAttemptsMax?: number;
  startMsTimeout?: number;
  logger?: Logger;
}

export interface AssignmentAgreementEvents {
  /** Every new table seen on the watch, the current one included, in revision order. */
  assignment: [table: AssignmentTable];
}

type Watcher = Awaited<ReturnType<KV["watch"]>>;

export class AssignmentAgreement extends EventEmitter<AssignmentAgreementEvents> {
  readonly id: string;
  readonly partitions: number;
  private readonly kv: KV;
  private readonly casAttemptsMax: number;
  private readonly startMsTimeout: number;
  private readonly log: Logger;

  private state: "new" | "running" | "stopped" = "new";
  private latest: AssignmentTable | undefined;
  /** Highest revision of ASSIGNMENT_KEY seen on the watch (puts and deletes). */
  private seenRevision = 0;
  private wanted: string[] | undefined;
  /** The last update could not land its view: retry when the watch shows a new value. */
  private pending = false;
  private chain: Promise<unknown> = Promise.resolve();
  private watcher: Watcher | undefined;
  private watchLoop: Promise<void> | undefined;
  private caughtUp: { revision: number; resolve: () => void } | undefined;

  constructor(opts: AssignmentAgreementOptions) {
    super();
    this.kv = opts.kv;
    this.id = opts.id;
    this.partitions = opts.partitions;
    this.casAttemptsMax = opts.casAttemptsMax ?? AGREEMENT_DEFAULTS.casAttemptsMax;
    this.startMsTimeout = opts.startMsTimeout ?? AGREEMENT_DEFAULTS.startMsTimeout;
    this.log = opts.logger ?? silentLogger;
    if (!MEMBER_ID_RE.test(this.id)) throw new AgreementError("invalid_options", `member id must match ${MEMBER_ID_RE}, got ${JSON.stringify(this.id)}`);
    if (!Number.isInteger(this.partitions) || this.partitions < 1) throw new AgreementError("invalid_options", `partitions must be a positive integer, got ${this.partitions}`);
    if (!Number.isInteger(this.casAttemptsMax) || this.casAttemptsMax < 1) throw new AgreementError("invalid_options", `casAttemptsMax must be a positive integer`);
  }

  /** Watch the table; resolves once the current one (if any) has been emitted. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new AgreementError("invalid_state", `start() on a ${this.state} AssignmentAgreement`);
    this.state = "running";
    try {
      const current = await this.kvCall("read", () => this.kv.get(ASSIGNMENT_KEY));
      const watcher = await this.kvCall("watch", () => this.kv.watch({ key: ASSIGNMENT_KEY }));
      this.watcher = watcher;
      this.watchLoop = this.consume(watcher);
      if (current) await this.untilSeen(current.revision);
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** The latest table seen on the watch. */
  current(): AssignmentTable | undefined {
    return this.latest;
  }

  /** Partitions this node owns in the latest table seen, ascending. */
  mine(): number[] {
    return this.latest ? partitionsOf(this.latest.owners, this.id) : [];
  }

  /**
   * Make the table reflect `live` (this node is always added). Serialized and coalesced:
   * a run uses the newest view given to any update() call. Rejects with AgreementError
   * on I/O failure or a table it must not overwrite.
   */
  update(live: readonly string[]): Promise<UpdateResult> {
    if (this.state !== "running") return Promise.reject(new AgreementError("invalid_state", `update() on a ${this.state} AssignmentAgreement`));
    try {
      this.wanted = normalize([...live, this.id]);
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.chain.then(() => this.reconcile());
    this.chain = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.caughtUp?.resolve();
    const watcher = this.watcher;
    this.watcher = undefined;
    watcher?.stop();
    await Promise.all([this.watchLoop, this.chain]);
  }

  private async reconcile(): Promise<UpdateResult> {
    const live = this.wanted;
    if (this.state !== "running" || !live) return { outcome: "gave_up" };
    this.pending = false;
    for (let attempt = 1; attempt <= this.casAttemptsMax; attempt++) {
      const result = await this.tryOnce(live);
      if (result) return result;
      this.log.info({ member: this.id, attempt }, "assignment CAS lost; re-reading");
    }
    this.pending = true;
    this.log.warn({ member: this.id, attempts: this.casAttemptsMax }, "assignment CAS lost every attempt; retrying on the next table");
    return { outcome: "gave_up" };
  }

  /** One read-compute-CAS round; undefined when the CAS lost. */
  private async tryOnce(live: string[]): Promise<UpdateResult | undefined> {
    const entry = await this.kvCall("read", () => this.kv.get(ASSIGNMENT_KEY));
    const prev = entry?.operation === "PUT" ? this.parse(entry) : undefined;
    const owners = prev ? rebalance(prev.owners, live, this.partitions) : initialAssignment(live, this.partitions);
    if (prev && sameIds(prev.owners, owners) && sameIds(prev.members, live)) return { outcome: "unchanged", table: prev };
    assertOwnersLive(owners, live, this.id);
    const value = JSON.stringify({ owners: [...owners], members: live } satisfies AssignmentValue);
    try {
      // No entry: create (expects no message on the key). A delete marker: CAS on its revision.
      const revision = entry ? await this.kv.update(ASSIGNMENT_KEY, value, entry.revision) : await this.kv.create(ASSIGNMENT_KEY, value);
      return { outcome: prev ? "updated" : "created", table: { owners, members: live, revision } };
    } catch (e) {
      if (isCasConflict(e)) return undefined;
      throw new AgreementError("kv_failed", `writing ${ASSIGNMENT_KEY} failed`, { cause: e });
    }
  }

  private async consume(watcher: Watcher): Promise<void> {
    try {
      for await (const e of watcher) this.onEntry(e);
    } catch (err) {
      this.log.error({ member: this.id, err }, "assignment watch failed");
    }
    if (this.state === "running") this.log.error({ member: this.id }, "assignment watch ended while running");
  }

  private onEntry(e: KvEntry): void {
    if (e.revision <= this.seenRevision) return;
    this.seenRevision = e.revision;
    if (e.operation === "PUT") this.onTable(e);
    else this.log.warn({ member: this.id, revision: e.revision }, "assignment table deleted; the next update recreates it");
    if (this.caughtUp && e.revision >= this.caughtUp.revision) this.caughtUp.resolve();
    if (this.pending || e.operation !== "PUT") this.retryLater();
  }

  private onTable(e: KvEntry): void {
    let table: AssignmentTable;
    try {
      table = this.parse(e);
    } catch (err) {
      this.log.error({ member: this.id, revision: e.revision, err }, "ignoring an assignment table we cannot read");
      return;
    }
    this.latest = table;
    try {
      this.emit("assignment", table);
    } catch (err) {
      this.log.error({ member: this.id, err }, "assignment listener threw");
    }
  }

  private retryLater(): void {
    if (!this.wanted || this.state !== "running") return;
    this.pending = true;
    this.update(this.wanted).catch((err: unknown) => this.log.error({ member: this.id, err }, "assignment retry failed"));
  }

  private untilSeen(revision: number): Promise<void> {
    if (this.seenRevision >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.caughtUp = undefined;
        reject(new AgreementError("start_timeout", `the watch did not deliver revision ${revision} within ${this.startMsTimeout} ms`));
      }, this.startMsTimeout);
      timer.unref();
      this.caughtUp = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          this.caughtUp = undefined;
          resolve();
        },
      };
    });
  }

  /** A table we can use, or AgreementError: never overwrite what we cannot read. */
  private parse(e: KvEntry): AssignmentTable {
    let v: Partial<AssignmentValue>;
    try {
      v = e.json<Partial<AssignmentValue>>();
    } catch (err) {
      throw new AgreementError("invalid_table", `${ASSIGNMENT_KEY}@${e.revision} is not JSON`, { cause: err });
    }
    const { owners, members } = v;
    if (!isIdArray(owners) || !isIdArray(members)) throw new AgreementError("invalid_table", `${ASSIGNMENT_KEY}@${e.revision} lacks owners/members`);
    if (owners.length !== this.partitions) {
      throw new AgreementError("partition_mismatch", `${ASSIGNMENT_KEY}@${e.revision} has ${owners.length} partitions, this node ${this.partitions}`);
    }
    const ms = new Set(members);
    if (!owners.every((o) => ms.has(o))) throw new AgreementError("invalid_table", `${ASSIGNMENT_KEY}@${e.revision} names an owner outside its members`);
    return { owners: Object.freeze(owners), members: Object.freeze(normalize(members)), revision: e.revision };
  }

  private async kvCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new AgreementError("kv_failed", `${what} of ${ASSIGNMENT_KEY} failed`, { cause: e });
    }
  }
}

/** A bug, not a runtime condition: rebalance only assigns to the members it is given. */
function assertOwnersLive(owners: readonly string[], live: readonly string[], self: string): void {
  const ls = new Set(live);
  if (!ls.has(self)) throw new AgreementError("invalid_table", `refusing a view without ourselves (${self})`);
  for (const [p, o] of owners.entries()) {
    if (!ls.has(o)) throw new AgreementError("invalid_table", `refusing to give partition ${p} to ${o}, not live to ${self}`);
  }
}

function isIdArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === "string" && s.length > 0);
}

function normalize(ids: readonly string[]): string[] {
  for (const id of ids) {
    if (!MEMBER_ID_RE.test(id)) throw new AgreementError("invalid_options", `member id must match ${MEMBER_ID_RE}, got ${JSON.stringify(id)}`);
  }
  return [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
