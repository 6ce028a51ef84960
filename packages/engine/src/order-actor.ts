import { fail } from "./assert.js";
import type { PriceLevel } from "./price-level.js";
import { ORDER_TYPES, STP_MODES, TIFS } from "./types.js";
import type { OrderStatus, OrderType, OrderView, StpMode, TimeInForce } from "./types.js";

/** Statuses by their index in an actor's packed fields. */
const STATUSES: readonly OrderStatus[] = ["new", "open", "partially_filled", "filled", "cancelled", "rejected", "expired"];
const NEW = 0;
const OPEN = 1;
const PARTIAL = 2;
const FILLED = 3;
const CANCELLED = 4;
const EXPIRED = 6;
const bitsOf = (...ss: number[]): number => ss.reduce((m, s) => m | (1 << s), 0);

/** Lifecycle transitions an order may make (bit sets of target statuses, by status); anything else is a bug. */
const NEXT: readonly number[] = [
  /* new */ bitsOf(OPEN, PARTIAL, FILLED, CANCELLED, EXPIRED),
  /* open */ bitsOf(OPEN, PARTIAL, FILLED, CANCELLED, EXPIRED),
  /* partially_filled */ bitsOf(PARTIAL, FILLED, CANCELLED, EXPIRED),
  /* filled, cancelled, rejected, expired */ 0, 0, 0, 0,
];

// Layout of OrderActor.packed: status in bits 0-2, then one bit each for side
// and post-only, then the indexes of the order type, time in force and
// self-trade mode in ORDER_TYPES, TIFS and STP_MODES, the not-indexed bit, and
// from bit 12 the market's index in marketNames.
const STATUS_MASK = 0b111;
const BUY = 1 << 3;
const POST_ONLY = 1 << 4;
const TYPE_SHIFT = 5;
const TIF_SHIFT = 6;
const STP_SHIFT = 8;
/** The order's cmdId is not in the idempotency index (only with PartitionState.repeatsAllowed, a test switch). */
const NOT_INDEXED = 1 << 11;
const MARKET_SHIFT = 12;
/** 18 bits of market index keep `packed` a small integer (31-bit with pointer compression, 32 without). */
const MARKETS_MAX = 1 << 18;

/**
 * Market names by index, process-wide and append-only: an actor keeps its market's
 * index in `packed` instead of a reference (8 bytes per order; markets are few and
 * created by admin commands, and an order for an unknown market is rejected before
 * an actor exists).
 */
const marketNames: string[] = [];
const marketIndexes = new Map<string, number>();

function marketIndex(m: string): number {
  let i = marketIndexes.get(m);
  if (i === undefined) {
    i = marketNames.length;
    if (i >= MARKETS_MAX) fail(`more than ${MARKETS_MAX} market names in one process`);
    marketNames.push(m);
    marketIndexes.set(m, i);
  }
  return i;
}

function indexIn<T>(values: readonly T[], v: T, what: string): number {
  const i = values.indexOf(v);
  if (i < 0) fail(`unknown ${what} ${String(v)}`);
  return i;
}

export function isTerminal(s: OrderStatus): boolean {
  return s === "filled" || s === "cancelled" || s === "expired" || s === "rejected";
}

/**
 * The actor for one order: it owns the order's state and lifecycle. The book and
 * the dispatcher deliver it messages (fill, reduce, reprice, finish); it checks
 * each transition. Links for the price level, the account index and the expiry
 * queue are intrusive so that removal is O(1) and allocation-free.
 *
 * Side, post-only, type, time in force, self-trade mode, status and market share
 * one small-integer field behind getters: actors are the engine's most numerous
 * objects (1M resting orders: 1M actors of 8 bytes per field, this Node build having
 * no pointer compression), and most survive a young-generation collection, which
 * copies them. The cmdId's hash is not kept either: it is recomputed when the order
 * finishes (bench memory: 152 → 136 bytes per actor).
 */
export class OrderActor {
  private packed: number;
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
    /** Replaced by its account list's copy when the order rests (AccountIndex.add), so resting orders share one string per account. */
    public account: string,
    market: string,
    isBuy: boolean,
    orderType: OrderType,
    tif: TimeInForce,
    stp: StpMode,
    postOnly: boolean,
    /** Log time of expiry for GTD orders, else 0. */
    readonly expireAt: number,
    public price: number,
    public remaining: number,
  ) {
    this.packed =
      NEW |
      (isBuy ? BUY : 0) |
      (postOnly ? POST_ONLY : 0) |
      (indexIn(ORDER_TYPES, orderType, "order type") << TYPE_SHIFT) |
      (indexIn(TIFS, tif, "time in force") << TIF_SHIFT) |
      (indexIn(STP_MODES, stp, "self-trade mode") << STP_SHIFT) |
      (marketIndex(market) << MARKET_SHIFT);
  }

  get market(): string {
    return marketNames[this.packed >>> MARKET_SHIFT]!;
  }

  /** False for an order placed under a repeated cmdId with the test switch that allows it. */
  get indexed(): boolean {
    return (this.packed & NOT_INDEXED) === 0;
  }

  markNotIndexed(): void {
    this.packed |= NOT_INDEXED;
  }

  get isBuy(): boolean {
    return (this.packed & BUY) !== 0;
  }

  get postOnly(): boolean {
    return (this.packed & POST_ONLY) !== 0;
  }

  get orderType(): OrderType {
    return ORDER_TYPES[(this.packed >> TYPE_SHIFT) & 0b1]!;
  }

  get tif(): TimeInForce {
    return TIFS[(this.packed >> TIF_SHIFT) & 0b11]!;
  }

  get stp(): StpMode {
    return STP_MODES[(this.packed >> STP_SHIFT) & 0b111]!;
  }

  get status(): OrderStatus {
    return STATUSES[this.packed & STATUS_MASK]!;
  }

  /** Sets the status without a transition check (restoring a snapshot). */
  set status(s: OrderStatus) {
    this.packed = (this.packed & ~STATUS_MASK) | indexIn(STATUSES, s, "status");
  }

  get qty(): number {
    return this.filled + this.remaining;
  }

  get live(): boolean {
    return (this.packed & STATUS_MASK) <= PARTIAL;
  }

  private moveTo(s: number): void {
    const from = this.packed & STATUS_MASK;
    if ((NEXT[from]! & (1 << s)) === 0) fail(`order ${this.id}: ${STATUSES[from]} -> ${STATUSES[s]}`);
    this.packed = (this.packed & ~STATUS_MASK) | s;
  }

  /** Accepted and working (resting or about to match). */
  open(): void {
    this.moveTo(OPEN);
  }

  fill(q: number): void {
    if (!(q > 0 && q <= this.remaining)) fail(`order ${this.id}: fill ${q} of ${this.remaining}`);
    this.remaining -= q;
    this.filled += q;
    this.moveTo(this.remaining === 0 ? FILLED : PARTIAL);
  }

  /** Lower the open quantity without a trade (amend down, self-trade decrement). */
  reduce(q: number): void {
    if (!(q > 0 && q < this.remaining)) fail(`order ${this.id}: reduce ${q} of ${this.remaining}`);
    this.remaining -= q;
  }

  /** New price and/or open quantity (amend that loses priority). */
  replace(price: number, remaining: number): void {
    if (this.level !== null) fail(`order ${this.id}: replaced while resting`);
    if (remaining <= 0) fail(`order ${this.id}: replace to ${remaining}`);
    this.price = price;
    this.remaining = remaining;
  }

  cancel(): void {
    this.moveTo(CANCELLED);
  }

  expire(): void {
    this.moveTo(EXPIRED);
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
