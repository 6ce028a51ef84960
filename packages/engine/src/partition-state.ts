import { LRUCache } from "lru-cache";
import { AccountIndex } from "./account-index.js";
import { ExpiryQueue } from "./expiry-queue.js";
import { Fifo } from "./fifo.js";
import { assert } from "./assert.js";
import { OrderActor } from "./order-actor.js";
import type { OrderBook } from "./order-book.js";
import type { Outcome } from "./types.js";

/**
 * Everything a partition owns. Only the dispatcher's handlers mutate it, one
 * command at a time; the snapshot module turns it into bytes and back.
 */
export class PartitionState {
  /** Books in creation order. */
  readonly markets = new Map<string, OrderBook>();
  /** Resting orders by id (an order id is the input sequence of its place command). */
  readonly orders = new Map<number, OrderActor>();
  readonly accounts = new AccountIndex();
  readonly expiry = new ExpiryQueue();
  /** Terminal orders kept for queries, then passivated (evicted). */
  readonly terminal: LRUCache<number, OrderActor>;
  /**
   * Idempotency: what each recent command did, in arrival order. An order's
   * entry is the actor itself (its outcome is "accepted"); a finished command's
   * is its order id (a number); a rejection's is its Outcome. Bounded to the
   * resting orders plus `idempotencyMax` others, so the entry of a resting
   * order is never evicted (see `remember`).
   */
  readonly byCmd = new Map<string, OrderActor | Outcome | number>();
  /** The keys of `byCmd` in eviction order, oldest first. */
  readonly byCmdOrder = new Fifo<string>();
  /** Last output sequence assigned. */
  seq = 0;
  /** Last trade id assigned. */
  tradeSeq = 0;
  /** Input sequence of the last command applied. */
  lastInSeq = 0;
  /** Highest log time seen: the partition's clock, never moving backwards. */
  now = 0;

  constructor(
    readonly partition: number,
    terminalOrdersMax: number,
    readonly idempotencyMax: number,
  ) {
    assert(idempotencyMax >= 1, "idempotencyMax must be at least 1");
    this.terminal = new LRUCache({ max: terminalOrdersMax });
  }

  /** What the command with this id did, if it is remembered. */
  outcomeOf(cmdId: string): Outcome | undefined {
    const v = this.byCmd.get(cmdId);
    if (v === undefined) return undefined;
    if (typeof v === "number") return { result: "done", orderId: v };
    if (v instanceof OrderActor) return { result: "accepted", orderId: v.id };
    return v;
  }

  /**
   * Records an outcome, then evicts the oldest entries beyond the bound. An entry
   * of an order still resting is moved to the back instead of evicted; each such
   * move is paid for by later evictions, so the cost is amortized O(1).
   */
  remember(cmdId: string, v: OrderActor | Outcome | number): void {
    const m = this.byCmd;
    assert(!m.has(cmdId), `cmdId ${cmdId} remembered twice`);
    m.set(cmdId, v);
    const q = this.byCmdOrder;
    q.push(cmdId);
    const bound = this.orders.size + this.idempotencyMax;
    while (m.size > bound) {
      const k = q.shift()!;
      const old = m.get(k);
      if (old instanceof OrderActor && old.live) q.push(k);
      else m.delete(k);
    }
  }

  /** A resident order: resting, or terminal and not yet passivated. */
  findOrder(id: number): OrderActor | undefined {
    return this.orders.get(id) ?? this.terminal.peek(id);
  }
}
