import { assert } from "./assert.js";
import type { PriceLevel } from "./price-level.js";
import type { OrderStatus, OrderType, OrderView, StpMode, TimeInForce } from "./types.js";

/** Lifecycle transitions an order may make; anything else is a bug. */
const NEXT: Record<OrderStatus, readonly OrderStatus[]> = {
  new: ["open", "partially_filled", "filled", "cancelled", "expired"],
  open: ["open", "partially_filled", "filled", "cancelled", "expired"],
  partially_filled: ["partially_filled", "filled", "cancelled", "expired"],
  filled: [],
  cancelled: [],
  rejected: [],
  expired: [],
};

export function isTerminal(s: OrderStatus): boolean {
  return s === "filled" || s === "cancelled" || s === "expired" || s === "rejected";
}

/**
 * The actor for one order: it owns the order's state and lifecycle. The book and
 * the dispatcher deliver it messages (fill, reduce, reprice, finish); it checks
 * each transition. Links for the price level, the account index and the expiry
 * queue are intrusive so that removal is O(1) and allocation-free.
 */
export class OrderActor {
  status: OrderStatus = "new";
  filled = 0;
  // price-level list
  level: PriceLevel | null = null;
  prev: OrderActor | null = null;
  next: OrderActor | null = null;
  // account list
  aPrev: OrderActor | null = null;
  aNext: OrderActor | null = null;
  /** Position in the expiry heap, or -1. */
  heapIndex = -1;

  constructor(
    readonly id: number,
    readonly cmdId: string,
    readonly account: string,
    readonly market: string,
    readonly isBuy: boolean,
    readonly orderType: OrderType,
    readonly tif: TimeInForce,
    readonly stp: StpMode,
    readonly postOnly: boolean,
    /** Log time of expiry for GTD orders, else 0. */
    readonly expireAt: number,
    public price: number,
    public remaining: number,
  ) {}

  get qty(): number {
    return this.filled + this.remaining;
  }

  get live(): boolean {
    return !isTerminal(this.status);
  }

  private moveTo(s: OrderStatus): void {
    assert(NEXT[this.status].includes(s), `order ${this.id}: ${this.status} -> ${s}`);
    this.status = s;
  }

  /** Accepted and working (resting or about to match). */
  open(): void {
    this.moveTo("open");
  }

  fill(q: number): void {
    assert(q > 0 && q <= this.remaining, `order ${this.id}: fill ${q} of ${this.remaining}`);
    this.remaining -= q;
    this.filled += q;
    this.moveTo(this.remaining === 0 ? "filled" : "partially_filled");
  }

  /** Lower the open quantity without a trade (amend down, self-trade decrement). */
  reduce(q: number): void {
    assert(q > 0 && q < this.remaining, `order ${this.id}: reduce ${q} of ${this.remaining}`);
    this.remaining -= q;
  }

  /** New price and/or open quantity (amend that loses priority). */
  replace(price: number, remaining: number): void {
    assert(this.level === null, `order ${this.id}: replaced while resting`);
    assert(remaining > 0, `order ${this.id}: replace to ${remaining}`);
    this.price = price;
    this.remaining = remaining;
  }

  cancel(): void {
    this.moveTo("cancelled");
  }

  expire(): void {
    this.moveTo("expired");
  }

  view(): OrderView {
    return {
      orderId: this.id,
      cmdId: this.cmdId,
      account: this.account,
      market: this.market,
      side: this.isBuy ? "buy" : "sell",
      orderType: this.orderType,
      tif: this.tif,
      price: this.price,
      qty: this.qty,
      filled: this.filled,
      remaining: this.remaining,
      status: this.status,
      expireAt: this.expireAt,
    };
  }
}
