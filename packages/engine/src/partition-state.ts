import { AccountIndex } from "./account-index.js";
import { ExpiryQueue } from "./expiry-queue.js";
import { assert, fail } from "./assert.js";
import { IdMap } from "./id-map.js";
import { OrderActor } from "./order-actor.js";
import type { OrderBook } from "./order-book.js";
import { IdempotencyIndex } from "./idempotency-index.js";
import { hashString } from "./string-hash.js";
import { TerminalOrders } from "./terminal-orders.js";
import type { Outcome } from "./types.js";

/** An idempotency entry: an order id (see `outcomeOfEntry`), or a rejection's outcome. */
export type IdempotencyEntry = Outcome | number;

/**
 * Everything a partition owns. Only the dispatcher's handlers mutate it, one
 * command at a time; the snapshot module turns it into bytes and back.
 */
export class PartitionState {
  /** Books in creation order. */
  readonly markets = new Map<string, OrderBook>();
  /** Resting orders by id (an order id is the input sequence of its place command). */
  readonly orders = new IdMap<OrderActor>();
  readonly accounts = new AccountIndex();
  readonly expiry = new ExpiryQueue();
  /** Terminal orders kept for queries, then passivated (evicted). */
  readonly terminal: TerminalOrders;
  /**
   * Idempotency: what each recent command did, keyed by cmdId with its
   * `hashOf` hash. An accepted order's entry is its negated id (outcome
   * "accepted") and stays open, never evicted, while the order lives; another
   * command's is its order id (a number >= 0, outcome "done") or, for a
   * rejection, its Outcome. Finished entries are bounded to `idempotencyMax`,
   * oldest evicted first.
   */
  readonly byCmd: IdempotencyIndex<IdempotencyEntry>;
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
   * corrupting the index. Orders it places are marked not indexed (OrderActor.indexed).
   */
  repeatsAllowed = false;
  /** The last key hashed: a command's cmdId is looked up, then remembered, then finished. */
  private hashedKey = "";
  private hashed = hashString("");

  constructor(
    readonly partition: number,
    terminalOrdersMax: number,
    readonly idempotencyMax: number,
  ) {
    assert(idempotencyMax >= 1, "idempotencyMax must be at least 1");
    this.byCmd = new IdempotencyIndex(idempotencyMax);
    this.terminal = new TerminalOrders(terminalOrdersMax);
  }

  /** `hashString(cmdId)`, computed once for the consecutive uses of one command's id. */
  hashOf(cmdId: string): number {
    if (cmdId !== this.hashedKey) {
      this.hashedKey = cmdId;
      this.hashed = hashString(cmdId);
    }
    return this.hashed;
  }

  /** What the command with this id did, if it is remembered. */
  outcomeOf(cmdId: string): Outcome | undefined {
    const v = this.byCmd.get(cmdId, this.hashOf(cmdId));
    return v === undefined ? undefined : outcomeOfEntry(v);
  }

  /**
   * Records what a command did. An accepted order's entry is its negated id
   * (never the actor, which must not outlive its passivation) and stays open,
   * exempt from eviction, until `orderFinished`.
   */
  remember(cmdId: string, v: OrderActor | IdempotencyEntry): void {
    const h = this.hashOf(cmdId);
    if (this.repeatsAllowed && this.byCmd.get(cmdId, h) !== undefined) {
      if (v instanceof OrderActor) v.markNotIndexed();
      return;
    }
    const added = v instanceof OrderActor ? this.byCmd.add(cmdId, h, -v.id) : this.byCmd.addFinished(cmdId, h, v);
    if (!added) fail(`cmdId ${cmdId} remembered twice`);
  }

  /** A remembered order is terminal: its entry joins the eviction order (its value stays). */
  orderFinished(o: OrderActor): void {
    if (!o.indexed) return;
    this.byCmd.finish(o.cmdId, this.hashOf(o.cmdId));
  }

  /** A resident order: resting, or terminal and not yet passivated. */
  findOrder(id: number): OrderActor | undefined {
    return this.orders.get(id) ?? this.terminal.peek(id);
  }
}


/** The outcome an idempotency entry stands for (see `PartitionState.byCmd`). */
export function outcomeOfEntry(v: IdempotencyEntry): Outcome {
  if (typeof v === "number") return v < 0 ? { result: "accepted", orderId: -v } : { result: "done", orderId: v };
  return v;
}
