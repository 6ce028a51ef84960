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

// Links of an order, in its row from Int32 LINK on: previous and next for each list
// it can be in, then its position in the expiry heap.
/** The order's price level: its orders in time priority. */
export const LEVEL_LIST = 0;
/** The order's account: its live orders, oldest first. */
export const ACCOUNT_LIST = 2;
const HEAP = 4;

/** An intrusive list of store slots (a price level, an account's orders); NONE when empty. */
export interface SlotList {
  head: number;
  tail: number;
}

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
    if ((l[ROW_I32 * o + PACKED]! & RESTING) !== 0 || l[b + ACCOUNT_LIST] !== NONE || l[b + HEAP] !== NONE)
      fail(`order ${this.id(o)} released while listed`);
    if (o === this.recentSlot) this.recentSlot = NONE;
    this.clear(o);
    l[b + LEVEL_LIST + 1] = this.freeHead;
    this.freeHead = o;
    this.live_--;
  }

  override cmdId(o: number): string {
    return o === this.recentSlot ? this.recentCmdId : super.cmdId(o);
  }

  // ---- links ----

  /** The next order at o's price level. */
  next(o: number): number {
    return this.i32[ROW_I32 * o + LINK + LEVEL_LIST + 1]!;
  }

  /** The next live order of o's account. */
  aNext(o: number): number {
    return this.i32[ROW_I32 * o + LINK + ACCOUNT_LIST + 1]!;
  }

  /** Appends o to `list`, one of its lists (LEVEL_LIST or ACCOUNT_LIST): O(1). */
  append(list: SlotList, o: number, which: number): void {
    const l = this.i32;
    const b = ROW_I32 * o + LINK + which;
    l[b] = list.tail;
    l[b + 1] = NONE;
    if (list.tail !== NONE) l[ROW_I32 * list.tail + LINK + which + 1] = o;
    else list.head = o;
    list.tail = o;
  }

  /** Takes o out of `list`, one of its lists (LEVEL_LIST or ACCOUNT_LIST): O(1), o knows its neighbours. */
  unlink(list: SlotList, o: number, which: number): void {
    const l = this.i32;
    const b = ROW_I32 * o + LINK + which;
    const prev = l[b]!;
    const next = l[b + 1]!;
    if (prev !== NONE) l[ROW_I32 * prev + LINK + which + 1] = next;
    else list.head = next;
    if (next !== NONE) l[ROW_I32 * next + LINK + which] = prev;
    else list.tail = prev;
    l[b] = NONE;
    l[b + 1] = NONE;
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
      this.freeHead = this.i32[ROW_I32 * o + LINK + LEVEL_LIST + 1]!;
    } else {
      o = this.used++;
      if (o >= this.capacity) this.grow(2 * this.capacity); // links are set below: new rows need no filling
    }
    const l = this.i32;
    const b = ROW_I32 * o + LINK;
    l[b] = l[b + 1] = l[b + 2] = l[b + 3] = l[b + HEAP] = NONE;
    this.live_++;
    return o;
  }
}
