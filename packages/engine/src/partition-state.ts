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
   * Idempotency: what each recent command did. A resting order's entry is its
   * actor (outcome "accepted") and stays while it rests; a finished command's is
   * its order id (a number) or, for a rejection, its Outcome; finished entries are
   * bounded to `idempotencyMax`, oldest evicted first.
   */
  readonly byCmd = new Map<string, OrderActor | Outcome | number>();
  /** Keys of finished entries of `byCmd`, oldest first: the eviction order. */
  readonly finishedCmds = new Fifo<string>();
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

  /** Records what a command did; a live order's entry waits for `finished`. */
  remember(cmdId: string, v: OrderActor | Outcome | number): void {
    assert(!this.byCmd.has(cmdId), `cmdId ${cmdId} remembered twice`);
    this.byCmd.set(cmdId, v);
    if (!(v instanceof OrderActor)) this.finished(cmdId);
  }

  /** The command's entry is final: it joins the eviction order. */
  finished(cmdId: string): void {
    const q = this.finishedCmds;
    q.push(cmdId);
    while (q.size > this.idempotencyMax) this.byCmd.delete(q.shift()!);
  }

  /** A resident order: resting, or terminal and not yet passivated. */
  findOrder(id: number): OrderActor | undefined {
    return this.orders.get(id) ?? this.terminal.peek(id);
  }
}
