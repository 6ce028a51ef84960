import { LRUCache } from "lru-cache";
import { AccountIndex } from "./account-index.js";
import { ExpiryQueue } from "./expiry-queue.js";
import type { OrderActor } from "./order-actor.js";
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
  /** Resting orders by the cmdId that placed them, for idempotency. */
  readonly liveByCmd = new Map<string, OrderActor>();
  readonly accounts = new AccountIndex();
  readonly expiry = new ExpiryQueue();
  /** Terminal orders kept for queries, then passivated (evicted). */
  readonly terminal: LRUCache<number, OrderActor>;
  /** Outcomes of finished commands, for idempotency. */
  readonly seen: LRUCache<string, Outcome>;
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
    idempotencyMax: number,
  ) {
    this.terminal = new LRUCache({ max: terminalOrdersMax });
    this.seen = new LRUCache({ max: idempotencyMax });
  }

  /** A resident order: resting, or terminal and not yet passivated. */
  findOrder(id: number): OrderActor | undefined {
    return this.orders.get(id) ?? this.terminal.peek(id);
  }
}
