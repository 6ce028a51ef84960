import { fail } from "./assert.js";
import { BookSide } from "./book-side.js";
import type { MarketRules } from "./market-rules.js";
import type { OrderStore } from "./order-store.js";

/** The book actor of one market: its rules and both sides. */
export class OrderBook {
  readonly bids: BookSide;
  readonly asks: BookSide;
  /** Orders resting in this market. */
  resting = 0;

  constructor(public rules: MarketRules) {
    this.bids = new BookSide(rules.spec.symbol, true);
    this.asks = new BookSide(rules.spec.symbol, false);
  }

  get symbol(): string {
    return this.rules.spec.symbol;
  }

  side(isBuy: boolean): BookSide {
    return isBuy ? this.bids : this.asks;
  }

  /** Would an order at `price` on this side take liquidity? */
  crosses(isBuy: boolean, price: number): boolean {
    const best = (isBuy ? this.asks : this.bids).best();
    return best !== undefined && (isBuy ? best.price <= price : best.price >= price);
  }

  check(s: OrderStore): void {
    this.bids.check(s);
    this.asks.check(s);
    const bb = this.bids.best();
    const ba = this.asks.best();
    if (bb && ba && bb.price >= ba.price) fail(`book ${this.symbol} crossed`);
  }
}
