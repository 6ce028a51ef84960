/**
 * Matches the account's events to the commands waiting for them, by cmdId.
 *
 * A command is settled by the first event that names its cmdId and says what
 * became of it: accepted, amended, cancelled, rejected, or duplicate (a repeat
 * that restates the original outcome). Settling events are remembered for a
 * while, so a report that arrives before the publish is acknowledged, or a
 * retry of a command this client already saw settle, still resolves.
 */
import type { EngineEvent, Outcome, RejectCode } from "@bourse/engine";
import type { ClientKind } from "./commands.js";
import { BourseClientError } from "./errors.js";

export type SettlingEvent = Extract<EngineEvent, { type: "accepted" | "rejected" | "amended" | "cancelled" | "duplicate" }>;

/** What a command came to: the resolved value of place, amend and cancel. */
export interface CommandReport {
  cmdId: string;
  status: "accepted" | "amended" | "cancelled" | "rejected";
  /** False only for rejected. */
  ok: boolean;
  /** The order placed or named (0 when a rejected place created none). */
  orderId: number;
  partition: number;
  /** Rejection reason, machine-readable and human-readable. */
  code?: RejectCode;
  message?: string;
  /** Settled by a `duplicate` event: the command had already been applied, and this restates its outcome. */
  duplicate: boolean;
  /** The event that settled the command. */
  event: SettlingEvent;
}

interface Settled {
  event: SettlingEvent;
  partition: number;
}

export class Outcomes {
  private readonly recent = new Map<string, Settled>();
  private readonly waiting = new Map<string, Set<(s: Settled) => void>>();

  constructor(
    private readonly recentMax: number,
    private readonly waitingMax: number,
  ) {}

  /** Every event of the account passes here, in delivery order. */
  observe(e: EngineEvent, partition: number): void {
    if (!isSettling(e) || this.recent.has(e.cmdId)) return;
    const s = { event: e, partition };
    this.recent.set(e.cmdId, s);
    if (this.recent.size > this.recentMax) this.recent.delete(this.recent.keys().next().value!);
    const w = this.waiting.get(e.cmdId);
    if (w === undefined) return;
    this.waiting.delete(e.cmdId);
    for (const f of w) f(s);
  }

  /** Starts listening for cmdId's outcome; call before publishing, so an early report is not missed. */
  track(cmdId: string): Tracker {
    const known = this.recent.get(cmdId);
    if (known !== undefined) return new Tracker(Promise.resolve(known), () => {});
    if (this.waiting.size >= this.waitingMax) {
      throw new BourseClientError("too_many_pending", `${this.waitingMax} commands are already waiting for their reports`);
    }
    let set = this.waiting.get(cmdId);
    if (set === undefined) this.waiting.set(cmdId, (set = new Set()));
    const waiters = set;
    let resolve!: (s: Settled) => void;
    const settled = new Promise<Settled>((r) => (resolve = r));
    waiters.add(resolve);
    return new Tracker(settled, () => {
      waiters.delete(resolve);
      if (waiters.size === 0 && this.waiting.get(cmdId) === waiters) this.waiting.delete(cmdId);
    });
  }

  /** Forgets every waiter (their trackers never settle; their owners time out or are told the client closed). */
  clear(): void {
    this.waiting.clear();
  }
}

/** One command's wait for its outcome. */
export class Tracker {
  private value: Settled | undefined;

  constructor(
    readonly settled: Promise<Settled>,
    readonly cancel: () => void,
  ) {
    void settled.then((s) => (this.value = s));
  }

  /** The outcome if it has arrived. */
  get current(): Settled | undefined {
    return this.value;
  }
}

export function toReport(kind: ClientKind, s: Settled): CommandReport {
  const e = s.event;
  const base = { cmdId: e.cmdId, partition: s.partition, event: e };
  switch (e.type) {
    case "duplicate":
      return fromOutcome(kind, e.original, base);
    case "rejected":
      return { ...base, status: "rejected", ok: false, orderId: e.orderId, code: e.code, message: e.message, duplicate: false };
    default:
      return { ...base, status: e.type, ok: true, orderId: e.orderId, duplicate: false };
  }
}

function fromOutcome(kind: ClientKind, o: Outcome, base: Pick<CommandReport, "cmdId" | "partition" | "event">): CommandReport {
  const common = { ...base, orderId: o.orderId, duplicate: true };
  if (o.result === "rejected") {
    return { ...common, status: "rejected", ok: false, ...(o.code !== undefined && { code: o.code }), message: "rejected earlier (restated for a repeated cmdId)" };
  }
  // "done" is a cancel or amend that finished without rejection.
  const status = o.result === "accepted" ? "accepted" : kind === "cancel" ? "cancelled" : kind === "amend" ? "amended" : "accepted";
  return { ...common, status, ok: true };
}

function isSettling(e: EngineEvent): e is SettlingEvent {
  switch (e.type) {
    case "accepted":
    case "rejected":
    case "amended":
    case "cancelled":
    case "duplicate":
      return true;
    default:
      return false;
  }
}
