import { fail } from "./assert.js";
import type { OrderActor } from "./order-actor.js";

/** All orders resting at one price on one side, in time priority (FIFO). */
export class PriceLevel {
  total = 0;
  count = 0;
  head: OrderActor | null = null;
  tail: OrderActor | null = null;
  /** Epoch of the command that last changed this level (market-data dedupe). */
  mark = 0;

  constructor(
    readonly market: string,
    readonly price: number,
    readonly isBuy: boolean,
  ) {}

  append(o: OrderActor): void {
    if (o.level !== null) fail(`order ${o.id} already rests`);
    o.level = this;
    o.prev = this.tail;
    o.next = null;
    if (this.tail) this.tail.next = o;
    else this.head = o;
    this.tail = o;
    this.count++;
    this.total += o.remaining;
  }

  /** O(1) removal: the order knows its neighbours. */
  remove(o: OrderActor): void {
    if (o.level !== this) fail(`order ${o.id} is not at level ${this.price}`);
    if (o.prev) o.prev.next = o.next;
    else this.head = o.next;
    if (o.next) o.next.prev = o.prev;
    else this.tail = o.prev;
    o.prev = o.next = o.level = null;
    this.count--;
    this.total -= o.remaining;
    if (!(this.count >= 0 && this.total >= 0)) fail(`level ${this.price} underflow`);
  }

  /** The resting order's open quantity went down by q (fill or reduce). */
  reduced(q: number): void {
    this.total -= q;
    if (this.total < 0) fail(`level ${this.price} total < 0`);
  }
}
