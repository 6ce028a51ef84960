import { fail } from "./assert.js";
import {
  CANCELLED, EXPIRED, FILLED, FILLED_QTY, LINK, NOT_INDEXED, OPEN, PACKED, ROW_F64, ROW_I32, OrderColumns, PARTIAL, PRICE, REMAINING, RESTING, STATUS_MASK,
  STATUSES, packFields,
} from "./order-columns.js";
import type { OrderTuple } from "./snapshot.js";
import type { OrderType, StpMode, TimeInForce } from "./types.js";

const bitsOf = (...ss: number[]): number => ss.reduce((m, s) => m | (1 << s), 0);

/** Lifecycle transitions an order may make (bit sets of target statuses, by status); anything else is a bug. */
const NEXT: readonly number[] = [
  /* new */ bitsOf(OPEN, PARTIAL, FILLED, CANCELLED, EXPIRED),
  /* open */ bitsOf(OPEN, PARTIAL, FILLED, CANCELLED, EXPIRED),
  /* partially_filled */ bitsOf(PARTIAL, FILLED, CANCELLED, EXPIRED),
  /* filled, cancelled, rejected, expired */ 0, 0, 0, 0,
];

/** "No order" in a link. */
export const NONE = -1;

// Links of an order, in its row from Int32 LINK on.
/** Previous and next order at the order's price level. */
const PREV = 0;
const NEXT_AT_LEVEL = 1;
/** Previous and next live order of the same account. */
const A_PREV = 2;
const A_NEXT = 3;
/** Position in the expiry heap, or -1. */
const HEAP = 4;

/**
 * The live orders of one partition: the order actors' state, one row each
 * (OrderColumns), with the intrusive links of the price level, account and expiry
 * lists beside it so that removal stays O(1) and allocation-free. An order is named
 * by its row number (its slot), valid from `alloc` until `release`; a released slot
 * is reused. The actor's behaviour is here too: the book and the dispatcher send an
 * order its messages (open, fill, reduce, replace, cancel, expire) through the store,
 * which checks each transition.
 *
 * Slots are never moved, so the store's capacity follows the partition's peak of
 * live orders; a restore from a snapshot starts compact.
 */
export class OrderStore extends OrderColumns {
  private freeHead = NONE;
  private used = 0;
  private live_ = 0;
  /** The cmdId string of the slot allocated last, which the running command often needs back (no re-rendering). */
  private recentSlot = NONE;
  private recentCmdId = "";

  constructor(capacity = 64) {
    super(capacity);
  }

  /** Slots in use. */
  get size(): number {
    return this.live_;
  }

  /** A new order, status `new`, on no list. */
  alloc(
    id: number, cmdId: string, account: string, market: string, isBuy: boolean, orderType: OrderType, tif: TimeInForce,
    stp: StpMode, postOnly: boolean, expireAt: number, price: number, remaining: number,
  ): number {
    const o = this.take();
    this.write(o, id, cmdId, account, packFields(market, isBuy, orderType, tif, stp, postOnly), expireAt, price, remaining, 0);
    this.recentSlot = o;
    this.recentCmdId = cmdId;
    return o;
  }

  /** A new order from a snapshot tuple, on no list. */
  allocTuple(t: OrderTuple): number {
    const o = this.take();
    this.writeTuple(o, t);
    return o;
  }

  /** Frees the slot of an order that is on no list. */
  release(o: number): void {
    const l = this.i32;
    const b = ROW_I32 * o + LINK;
    if ((l[ROW_I32 * o + PACKED]! & RESTING) !== 0 || l[b + A_PREV] !== NONE || l[b + HEAP] !== NONE)
      fail(`order ${this.id(o)} released while listed`);
    if (o === this.recentSlot) this.recentSlot = NONE;
    this.clear(o);
    l[b + NEXT_AT_LEVEL] = this.freeHead;
    this.freeHead = o;
    this.live_--;
  }

  override cmdId(o: number): string {
    return o === this.recentSlot ? this.recentCmdId : super.cmdId(o);
  }

  // ---- links ----

  prev(o: number): number {
    return this.i32[ROW_I32 * o + LINK + PREV]!;
  }

  next(o: number): number {
    return this.i32[ROW_I32 * o + LINK + NEXT_AT_LEVEL]!;
  }

  setLevelLinks(o: number, prev: number, next: number): void {
    this.i32[ROW_I32 * o + LINK + PREV] = prev;
    this.i32[ROW_I32 * o + LINK + NEXT_AT_LEVEL] = next;
  }

  setNext(o: number, next: number): void {
    this.i32[ROW_I32 * o + LINK + NEXT_AT_LEVEL] = next;
  }

  setPrev(o: number, prev: number): void {
    this.i32[ROW_I32 * o + LINK + PREV] = prev;
  }

  aPrev(o: number): number {
    return this.i32[ROW_I32 * o + LINK + A_PREV]!;
  }

  aNext(o: number): number {
    return this.i32[ROW_I32 * o + LINK + A_NEXT]!;
  }

  setAPrev(o: number, prev: number): void {
    this.i32[ROW_I32 * o + LINK + A_PREV] = prev;
  }

  setANext(o: number, next: number): void {
    this.i32[ROW_I32 * o + LINK + A_NEXT] = next;
  }

  heapIndex(o: number): number {
    return this.i32[ROW_I32 * o + LINK + HEAP]!;
  }

  setHeapIndex(o: number, i: number): void {
    this.i32[ROW_I32 * o + LINK + HEAP] = i;
  }

  resting(o: number): boolean {
    return (this.i32[ROW_I32 * o + PACKED]! & RESTING) !== 0;
  }

  setResting(o: number, resting: boolean): void {
    this.i32[ROW_I32 * o + PACKED] = resting ? this.i32[ROW_I32 * o + PACKED]! | RESTING : this.i32[ROW_I32 * o + PACKED]! & ~RESTING;
  }

  markNotIndexed(o: number): void {
    this.i32[ROW_I32 * o + PACKED] = this.i32[ROW_I32 * o + PACKED]! | NOT_INDEXED;
  }

  // ---- the actor's messages ----

  private moveTo(o: number, s: number): void {
    const from = this.i32[ROW_I32 * o + PACKED]! & STATUS_MASK;
    if ((NEXT[from]! & (1 << s)) === 0) fail(`order ${this.id(o)}: ${STATUSES[from]} -> ${STATUSES[s]}`);
    this.i32[ROW_I32 * o + PACKED] = (this.i32[ROW_I32 * o + PACKED]! & ~STATUS_MASK) | s;
  }

  /** Accepted and working (resting or about to match). */
  open(o: number): void {
    this.moveTo(o, OPEN);
  }

  fill(o: number, q: number): void {
    const n = this.f64;
    const b = ROW_F64 * o;
    const rem = n[b + REMAINING]!;
    if (!(q > 0 && q <= rem)) fail(`order ${this.id(o)}: fill ${q} of ${rem}`);
    n[b + REMAINING] = rem - q;
    n[b + FILLED_QTY] = n[b + FILLED_QTY]! + q;
    this.moveTo(o, rem === q ? FILLED : PARTIAL);
  }

  /** Lower the open quantity without a trade (amend down, self-trade decrement). */
  reduce(o: number, q: number): void {
    const rem = this.remaining(o);
    if (!(q > 0 && q < rem)) fail(`order ${this.id(o)}: reduce ${q} of ${rem}`);
    this.f64[ROW_F64 * o + REMAINING] = rem - q;
  }

  /** New price and/or open quantity (amend that loses priority). */
  replace(o: number, price: number, remaining: number): void {
    if (this.resting(o)) fail(`order ${this.id(o)}: replaced while resting`);
    if (remaining <= 0) fail(`order ${this.id(o)}: replace to ${remaining}`);
    this.f64[ROW_F64 * o + PRICE] = price;
    this.f64[ROW_F64 * o + REMAINING] = remaining;
  }

  cancel(o: number): void {
    this.moveTo(o, CANCELLED);
  }

  expire(o: number): void {
    this.moveTo(o, EXPIRED);
  }

  private take(): number {
    let o = this.freeHead;
    if (o !== NONE) {
      this.freeHead = this.i32[ROW_I32 * o + LINK + NEXT_AT_LEVEL]!;
    } else {
      o = this.used++;
      if (o >= this.capacity) this.growTo(2 * this.capacity);
    }
    const l = this.i32;
    const b = ROW_I32 * o + LINK;
    l[b + PREV] = l[b + NEXT_AT_LEVEL] = l[b + A_PREV] = l[b + A_NEXT] = l[b + HEAP] = NONE;
    this.live_++;
    return o;
  }

  /** Links are set when a slot is taken, so new rows need no filling. */
  private growTo(capacity: number): void {
    this.grow(capacity);
  }
}

