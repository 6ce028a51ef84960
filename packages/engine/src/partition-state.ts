import { AccountIndex } from "./account-index.js";
import { ExpiryQueue } from "./expiry-queue.js";
import { assert, fail } from "./assert.js";
import { NONE, OrderStore } from "./order-store.js";
import { SlotTable, idTag } from "./slot-table.js";
import type { OrderBook } from "./order-book.js";
import { IdempotencyIndex, type IdempotencyEntry } from "./idempotency-index.js";
import { cmdHash } from "./cmd-id.js";
import { TerminalOrders } from "./terminal-orders.js";
import type { Outcome } from "./types.js";

export type { IdempotencyEntry } from "./idempotency-index.js";

/**
 * Everything a partition owns. Only the dispatcher's handlers mutate it, one
 * command at a time; the snapshot module turns it into bytes and back.
 */
export class PartitionState {
  /** Books in creation order. */
  readonly markets = new Map<string, OrderBook>();
  /** The live orders' state (an order is a slot of the store while it lives). */
  readonly store: OrderStore;
  /** Resting orders by id (an order id is the input sequence of its place command). */
  private readonly orders: SlotTable;
  readonly accounts: AccountIndex;
  readonly expiry: ExpiryQueue;
  /** Terminal orders kept for queries, then passivated (evicted). */
  readonly terminal: TerminalOrders;
  /**
   * Idempotency: what each recent command did, keyed by cmdId with its
   * `hashOf` hash. An accepted order's entry is open while the order lives: it is
   * the order's slot in `openCmds`, whose cmdId is in the store, and answers
   * "accepted" with the order's id. When the order finishes its entry moves here
   * as its negated id (outcome "accepted"); another command's entry is its order id
   * (a number >= 0, outcome "done") or, for a rejection, its Outcome. Entries here
   * are finished, bounded to `idempotencyMax`, oldest evicted first.
   */
  readonly byCmd: IdempotencyIndex;
  /** Live orders by the hash of their cmdId (open idempotency entries). */
  private readonly openCmds: SlotTable;
  /** Last output sequence assigned. */
  seq = 0;
  /** Last trade id assigned. */
  tradeSeq = 0;
  /** Input sequence of the last command applied. */
  lastInSeq = 0;
  /** Highest log time seen: the partition's clock, never moving backwards. */
  now = 0;
  /**
   * Test-only (the engine's testNoIdempotency): a cmdId already remembered is not
   * remembered again, so a repeated command can take effect twice without
   * corrupting the index. Orders it places are marked not indexed (OrderColumns.indexed).
   */
  repeatsAllowed = false;
  /** The order the running command placed, until it rests or finishes, and its cmdId's hash. */
  private placed = NONE;
  private placedHash = 0;
  /** The last cmdId `outcomeOf` found nothing for, until something is remembered. */
  private absentKey = "";
  /** The last key hashed: a command's cmdId is looked up, then remembered, then finished. */
  private hashedKey = "";
  private hashed = cmdHash("");

  constructor(
    readonly partition: number,
    terminalOrdersMax: number,
    readonly idempotencyMax: number,
    /** Live orders expected soon (0: start small). */
    ordersHint = 0,
  ) {
    assert(idempotencyMax >= 1, "idempotencyMax must be at least 1");
    // Sized for `ordersHint` live orders up front (a restore knows roughly how many):
    // growing the indexes step by step maps a new array each time.
    this.store = new OrderStore(Math.max(64, ordersHint));
    this.orders = new SlotTable(2 * ordersHint);
    this.openCmds = new SlotTable(2 * ordersHint);
    this.accounts = new AccountIndex(this.store);
    this.expiry = new ExpiryQueue(this.store);
    this.byCmd = new IdempotencyIndex(idempotencyMax);
    this.terminal = new TerminalOrders(terminalOrdersMax);
  }

  /** Resting orders. */
  get restingOrders(): number {
    return this.orders.size;
  }

  /** Idempotency entries, open and finished. */
  get rememberedCommands(): number {
    return this.byCmd.finished + this.openCmds.size;
  }

  /** `cmdHash(cmdId)`, computed once for the consecutive uses of one command's id. */
  hashOf(cmdId: string): number {
    if (cmdId !== this.hashedKey) {
      this.hashedKey = cmdId;
      this.hashed = cmdHash(cmdId);
    }
    return this.hashed;
  }

  /** What the command with this id did, if it is remembered. */
  outcomeOf(cmdId: string): Outcome | undefined {
    const h = this.hashOf(cmdId);
    const v = this.byCmd.get(cmdId, h);
    if (v !== undefined) return outcomeOfEntry(v);
    const o = this.openOrder(cmdId, h);
    if (o >= 0) return { result: "accepted", orderId: this.store.id(o) };
    this.absentKey = cmdId;
    return undefined;
  }

  /** The live order placed under this cmdId, or -1. */
  private openOrder(cmdId: string, h: number): number {
    const t = this.openCmds;
    for (let i = t.first(h); i >= 0; i = t.next(h, i)) {
      const o = t.slotAt(i);
      if (this.store.cmdIs(o, cmdId)) return o;
    }
    return -1;
  }

  /**
   * Records what a command did: for an order placed (a store slot), an open entry
   * while the order lives (`orderRests`, `orderFinished`); else a finished entry,
   * open to eviction.
   */
  remember(cmdId: string, v: IdempotencyEntry, order = false): void {
    const h = this.hashOf(cmdId);
    // The dispatcher has just looked the cmdId up (outcomeOf) and found nothing: no need to look again.
    const known = cmdId === this.absentKey ? false : this.byCmd.get(cmdId, h) !== undefined || this.openOrder(cmdId, h) >= 0;
    this.absentKey = "";
    if (known && this.repeatsAllowed) {
      if (order) this.store.markNotIndexed(v as number);
      return;
    }
    if (known) fail(`cmdId ${cmdId} remembered twice`);
    if (!order) return void this.byCmd.addFinished(cmdId, h, v);
    // Most orders finish within their command (takers filled at once, IOC, FOK): the entry
    // is opened only if the order comes to rest, and is otherwise finished straight away.
    if (this.placed !== NONE) fail(`order ${this.store.id(this.placed)} still pending`);
    this.placed = v as number;
    this.placedHash = h;
  }

  /** The order placed by the running command rests: its idempotency entry opens. */
  orderRests(o: number): void {
    if (o !== this.placed) return; // re-rested by an amend: its entry is open already
    this.placed = NONE;
    this.openCmds.add(this.placedHash, o);
  }

  /** The order's idempotency entry is open again (restoring a resting order; `cmdId` is its cmdId). */
  rememberOpen(o: number, cmdId: string): void {
    const h = this.store.cmdHash(o); // from the row the order was just written to: its text is not parsed again
    if (this.openOrder(cmdId, h) >= 0 || this.byCmd.get(cmdId, h) !== undefined) this.store.markNotIndexed(o);
    else this.openCmds.add(h, o);
  }

  /** A remembered order is terminal: its entry becomes a finished one, joining the eviction order. */
  orderFinished(o: number): void {
    const st = this.store;
    if (!st.indexed(o)) return;
    this.absentKey = "";
    if (o === this.placed) {
      this.placed = NONE;
      this.byCmd.addFinishedOrder(st, o, this.placedHash, -st.id(o));
      return;
    }
    // Hashed and copied from the order's row: its cmdId's text is neither rendered nor parsed.
    const h = st.cmdHash(o);
    this.openCmds.remove(h, o);
    this.byCmd.addFinishedOrder(st, o, h, -st.id(o));
  }

  /** Checks that the command left no order half-remembered (at its end). */
  commandDone(): void {
    if (this.placed !== NONE) fail(`order ${this.store.id(this.placed)} neither rested nor finished`);
  }

  /** Indexes a resting order by id. */
  indexOrder(o: number): void {
    this.orders.add(idTag(this.store.id(o)), o);
  }

  /** Drops a live order from the id index; false when it was not there (it never rested). */
  unindexOrder(o: number): boolean {
    return this.orders.delete(idTag(this.store.id(o)), o);
  }

  /** The resting order with this id (a store slot), or -1. */
  liveOrder(id: number): number {
    const t = this.orders;
    const tag = idTag(id);
    for (let i = t.first(tag); i >= 0; i = t.next(tag, i)) {
      const o = t.slotAt(i);
      if (this.store.id(o) === id) return o;
    }
    return -1;
  }
}

/** The outcome an idempotency entry stands for (see `PartitionState.byCmd`). */
export function outcomeOfEntry(v: IdempotencyEntry): Outcome {
  if (typeof v === "number") return v < 0 ? { result: "accepted", orderId: -v } : { result: "done", orderId: v };
  return v;
}
