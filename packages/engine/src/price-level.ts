import { fail } from "./assert.js";
import { LEVEL_LIST, NONE, type OrderStore, type SlotList } from "./order-store.js";

/** All orders resting at one price on one side, in time priority (FIFO): a list of store slots. */
export class PriceLevel implements SlotList {
  total = 0;
  count = 0;
  head = NONE;
  tail = NONE;
  /** Epoch of the command that last changed this level (market-data dedupe). */
  mark = 0;
  /** Epoch of the command that last reported this level's price in market data. */
  reported = 0;

  constructor(
    readonly market: string,
    readonly price: number,
    readonly isBuy: boolean,
  ) {}

  append(s: OrderStore, o: number): void {
    if (s.resting(o)) fail(`order ${s.id(o)} already rests`);
    s.setResting(o, true);
    s.append(this, o, LEVEL_LIST);
    this.count++;
    this.total += s.remaining(o);
  }

  /** O(1) removal: the order knows its neighbours. The order must rest at this level. */
  remove(s: OrderStore, o: number): void {
    if (!(s.resting(o) && s.price(o) === this.price && s.isBuy(o) === this.isBuy)) fail(`order ${s.id(o)} is not at level ${this.price}`);
    s.unlink(this, o, LEVEL_LIST);
    s.setResting(o, false);
    this.count--;
    this.total -= s.remaining(o);
    if (!(this.count >= 0 && this.total >= 0)) fail(`level ${this.price} underflow`);
  }

  /** The resting order's open quantity went down by q (fill or reduce). */
  reduced(q: number): void {
    this.total -= q;
    if (this.total < 0) fail(`level ${this.price} total < 0`);
  }
}
