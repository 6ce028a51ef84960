import { assert, fail } from "./assert.js";
import { IdMap } from "./id-map.js";
import { NONE, type OrderStore } from "./order-store.js";
import { PriceLevel } from "./price-level.js";

/**
 * One side of a book: price levels sorted so that the best is last. Best access
 * and removal of the best level are O(1) whatever the depth; a new or emptied
 * inner level costs a binary search plus a memmove of the levels behind it.
 */
export class BookSide {
  /** Ascending for bids, descending for asks: the best level is at the end. */
  private readonly levels: PriceLevel[] = [];
  /** Levels by price (prices are >= 1 tick): an IdMap, one cache line per lookup where a V8 Map takes two. */
  private readonly byPrice = new IdMap<PriceLevel>();

  constructor(
    readonly market: string,
    readonly isBuy: boolean,
  ) {}

  get depth(): number {
    return this.levels.length;
  }

  best(): PriceLevel | undefined {
    return this.levels[this.levels.length - 1];
  }

  get(price: number): PriceLevel | undefined {
    return this.byPrice.get(price);
  }

  /** The level at `price`, created in sorted position if absent. */
  levelAt(price: number): PriceLevel {
    const found = this.byPrice.get(price);
    if (found) return found;
    const lvl = new PriceLevel(this.market, price, this.isBuy);
    this.byPrice.set(price, lvl);
    const at = this.insertionIndex(price);
    if (at === this.levels.length) this.levels.push(lvl);
    else this.levels.splice(at, 0, lvl);
    return lvl;
  }

  /** Drops an emptied level. */
  drop(lvl: PriceLevel): void {
    if (lvl.count !== 0) fail(`dropping non-empty level ${lvl.price}`);
    this.byPrice.delete(lvl.price);
    const last = this.levels.length - 1;
    if (this.levels[last] === lvl) {
      this.levels.pop();
      return;
    }
    const at = this.insertionIndex(lvl.price) - 1;
    if (this.levels[at] !== lvl) fail(`level ${lvl.price} not found`);
    this.levels.splice(at, 1);
  }

  /** Levels from best to worst. */
  *bestFirst(): IterableIterator<PriceLevel> {
    for (let i = this.levels.length - 1; i >= 0; i--) yield this.levels[i]!;
  }

  /** First index whose level sorts after `price` (upper bound in this side's order). */
  private insertionIndex(price: number): number {
    const lv = this.levels;
    let lo = 0;
    let hi = lv.length;
    const asc = this.isBuy;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = lv[mid]!.price;
      if (asc ? p <= price : p >= price) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Self-check: sorted, indexed, totals consistent. */
  check(s: OrderStore): void {
    let prev: number | undefined;
    for (const lvl of this.levels) {
      if (prev !== undefined) assert(this.isBuy ? lvl.price > prev : lvl.price < prev, "levels out of order");
      prev = lvl.price;
      if (this.byPrice.get(lvl.price) !== lvl) fail(`level ${lvl.price} not indexed`);
      if (lvl.count <= 0) fail(`empty level ${lvl.price} kept`);
      let n = 0;
      let total = 0;
      for (let o = lvl.head; o !== NONE; o = s.next(o)) {
        if (!(s.resting(o) && s.price(o) === lvl.price && s.isBuy(o) === this.isBuy && s.market(o) === this.market))
          fail(`order ${s.id(o)} misfiled`);
        if (!(s.remaining(o) > 0 && s.live(o))) fail(`order ${s.id(o)} rests with ${s.remaining(o)} (${s.status(o)})`);
        n++;
        total += s.remaining(o);
      }
      if (!(n === lvl.count && total === lvl.total)) fail(`level ${lvl.price} count/total mismatch`);
    }
    assert(this.byPrice.size === this.levels.length, "level index size mismatch");
  }
}
