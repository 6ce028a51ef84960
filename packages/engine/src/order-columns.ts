import { fail } from "./assert.js";
import { CMD_WORDS, cmdHash, packUuid, uuidAscii, uuidEquals, uuidText, wordsHash } from "./cmd-id.js";
import { MARKET_BITS, marketIndex, marketName } from "./market-names.js";
import type { MsgpackWriter } from "./msgpack-writer.js";
import { grownBuffer, mappedBuffer } from "./page-arrays.js";
import type { OrderTuple } from "./snapshot.js";
import { ORDER_TYPES, STP_MODES, TIFS } from "./types.js";
import type { OrderStatus, OrderType, OrderView, StpMode, TimeInForce } from "./types.js";

/** Statuses by their index in an order's packed field. */
export const STATUSES: readonly OrderStatus[] = ["new", "open", "partially_filled", "filled", "cancelled", "rejected", "expired"];
export const NEW = 0;
export const OPEN = 1;
export const PARTIAL = 2;
export const FILLED = 3;
export const CANCELLED = 4;
export const EXPIRED = 6;

// Layout of the packed field: status in bits 0-2, then one bit each for side and
// post-only, the indexes of the order type, time in force and self-trade mode in
// ORDER_TYPES, TIFS and STP_MODES, then flags, and from bit 14 the market's index
// (market-names.ts). Read with >>> (the market's top bit is the Int32's sign).
export const STATUS_MASK = 0b111;
const BUY = 1 << 3;
const POST_ONLY = 1 << 4;
const TYPE_SHIFT = 5;
const TIF_SHIFT = 6;
const STP_SHIFT = 8;
/** The order's cmdId is not in the idempotency index (only with PartitionState.repeatsAllowed, a test switch). */
export const NOT_INDEXED = 1 << 11;
/** The cmdId is a string in the text pool (its index in the row's first cmd word), not packed words. */
const CMD_TEXT = 1 << 12;
/** The order rests at a price level (OrderStore's level links are in use). */
export const RESTING = 1 << 13;
const MARKET_SHIFT = 14;
if (MARKET_SHIFT + MARKET_BITS > 32) fail("packed order field overflows 32 bits");

// An order's row: 80 bytes, read as 10 doubles (f64) or 20 Int32s (i32) of one buffer.
// Doubles 0-4: id, price, remaining, filled, expireAt; Int32 10: the packed field; 11-14:
// the cmdId's words (or, for a text cmdId, its index in the text pool at 11); 15-19: the
// store's links (unused in other column sets). One row is a cache line and a quarter,
// where separate arrays per field cost a cache line each.
export const ROW_F64 = 10;
export const ROW_I32 = 20;
export const NUM = 5;
export const PACKED = 10;
const CMD = 11;
export const LINK = 15;
const ROW_BYTES = 80;
export const ID = 0;
export const PRICE = 1;
export const REMAINING = 2;
export const FILLED_QTY = 3;
export const EXPIRE_AT = 4;

const MIN_CAPACITY = 16;

function indexIn<T>(values: readonly T[], v: T, what: string): number {
  const i = values.indexOf(v);
  if (i < 0) fail(`unknown ${what} ${String(v)}`);
  return i;
}

/** The packed field of a new order (status `new`). */
export function packFields(market: string, isBuy: boolean, orderType: OrderType, tif: TimeInForce, stp: StpMode, postOnly: boolean): number {
  return (
    NEW |
    (isBuy ? BUY : 0) |
    (postOnly ? POST_ONLY : 0) |
    (indexIn(ORDER_TYPES, orderType, "order type") << TYPE_SHIFT) |
    (indexIn(TIFS, tif, "time in force") << TIF_SHIFT) |
    (indexIn(STP_MODES, stp, "self-trade mode") << STP_SHIFT) |
    (marketIndex(market) << MARKET_SHIFT)
  );
}

export function isTerminal(s: OrderStatus): boolean {
  return s === "filled" || s === "cancelled" || s === "expired" || s === "rejected";
}

const asciiScratch = new Uint8Array(36);

/**
 * Orders' state in typed arrays, one row per order, addressed by row number: no
 * object per order for the collector to trace, copy or fragment (ADR 0005). An order's
 * numbers sit side by side in `num` (one cache line), its small fields in one packed
 * Int32, its account as a reference to a shared string and its cmdId in 16 bytes
 * (cmd-id.ts; other cmdIds in a side array). Rows are copied between column sets with a
 * few stores (terminal orders, checkpoints). Numbers are stored as doubles and read
 * back as doubles: ids, prices and quantities are safe integers. The typed arrays come
 * from the page allocator and grow in place (page-arrays.ts).
 */
export class OrderColumns {
  /** The rows (mapped, grown in place: page-arrays.ts), viewed two ways; the views track its length. */
  private buffer: ArrayBuffer;
  f64: Float64Array;
  i32: Int32Array;
  account: (string | undefined)[];
  /**
   * cmdIds that are not packable UUIDs (CMD_TEXT rows), in a pool whose index the row
   * keeps in its first cmd word; freed entries are reused. Packed rows cost nothing
   * here. (A Map by row halved the engine's throughput with text cmdIds — a set and a
   * delete per order, bench match — and an array by row cost 8 bytes for every order.)
   */
  private readonly text: (string | undefined)[] = [];
  private readonly textFree: number[] = [];

  constructor(capacity: number) {
    const cap = Math.max(MIN_CAPACITY, capacity);
    this.buffer = mappedBuffer(ROW_BYTES * cap);
    this.f64 = new Float64Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.account = new Array<string | undefined>(cap).fill(undefined);
  }

  get capacity(): number {
    return this.i32.length / ROW_I32;
  }

  /** Room for at least `rows` rows, growing by half at least (for sets of rows refilled again and again). */
  ensure(rows: number): void {
    if (rows > this.capacity) this.grow(Math.max(rows, Math.ceil(1.5 * this.capacity)));
  }

  /** Room for `capacity` rows, keeping the ones stored. */
  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    const buffer = grownBuffer(this.buffer, ROW_BYTES * capacity);
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.f64 = new Float64Array(buffer);
      this.i32 = new Int32Array(buffer);
    }
    const a = this.account;
    while (a.length < capacity) a.push(undefined);
  }

  /** Stores an order in row i. */
  write(
    i: number, id: number, cmdId: string, account: string, packed: number, expireAt: number, price: number,
    remaining: number, filled: number,
  ): void {
    const n = this.f64;
    const b = ROW_F64 * i;
    n[b + ID] = id;
    n[b + PRICE] = price;
    n[b + REMAINING] = remaining;
    n[b + FILLED_QTY] = filled;
    n[b + EXPIRE_AT] = expireAt;
    this.account[i] = account;
    this.dropText(i);
    if (packUuid(cmdId, this.i32, ROW_I32 * i + CMD)) {
      this.i32[ROW_I32 * i + PACKED] = packed & ~CMD_TEXT;
    } else {
      this.i32[ROW_I32 * i + PACKED] = packed | CMD_TEXT;
      this.i32[ROW_I32 * i + CMD] = this.keepText(cmdId);
    }
  }

  /** Stores an order tuple in row i. */
  writeTuple(i: number, t: OrderTuple): void {
    const packed = (packFields(t[3], t[4] === 1, t[5], t[6], t[7], t[8] === 1) & ~STATUS_MASK) | indexIn(STATUSES, t[13], "status");
    this.write(i, t[0], t[1], t[2], packed, t[9], t[10], t[11], t[12]);
  }

  /** Copies row `from` of `src` to row `to` of this (the order's state, not its place in any list). */
  copy(src: OrderColumns, from: number, to: number): void {
    const s = src.f64;
    const n = this.f64;
    for (let k = 0; k < NUM; k++) n[ROW_F64 * to + k] = s[ROW_F64 * from + k]!;
    this.dropText(to);
    const p = src.i32[ROW_I32 * from + PACKED]!;
    this.i32[ROW_I32 * to + PACKED] = p & ~RESTING;
    this.account[to] = src.account[from];
    if ((p & CMD_TEXT) !== 0) this.i32[ROW_I32 * to + CMD] = this.keepText(src.textOf(from));
    else for (let k = 0; k < CMD_WORDS; k++) this.i32[ROW_I32 * to + CMD + k] = src.i32[ROW_I32 * from + CMD + k]!;
  }

  /** Drops the references row i holds. */
  clear(i: number): void {
    this.dropText(i);
    this.i32[ROW_I32 * i + PACKED] = 0;
    this.account[i] = undefined;
  }

  /** Text rows in use (for tests). */
  get textRows(): number {
    return this.text.length - this.textFree.length;
  }

  /** Is row i's cmdId kept as text (not a packed UUID)? */
  cmdIsText(i: number): boolean {
    return (this.i32[ROW_I32 * i + PACKED]! & CMD_TEXT) !== 0;
  }

  /** Replaces row i's text cmdId with an equal string (a flat copy of a decoded one). */
  replaceText(i: number, s: string): void {
    if (this.textOf(i) !== s) fail(`row ${i}: cmdId replaced by a different one`);
    this.text[this.i32[ROW_I32 * i + CMD]!] = s;
  }

  private textOf(i: number): string {
    return this.text[this.i32[ROW_I32 * i + CMD]!]!;
  }

  private keepText(s: string): number {
    const t = this.textFree.pop();
    if (t === undefined) return this.text.push(s) - 1;
    this.text[t] = s;
    return t;
  }

  /** Frees row i's pooled cmdId, if it has one. */
  private dropText(i: number): void {
    if ((this.i32[ROW_I32 * i + PACKED]! & CMD_TEXT) === 0) return;
    const t = this.i32[ROW_I32 * i + CMD]!;
    this.text[t] = undefined;
    this.textFree.push(t);
    this.i32[ROW_I32 * i + PACKED] = this.i32[ROW_I32 * i + PACKED]! & ~CMD_TEXT;
  }

  id(i: number): number {
    return this.f64[ROW_F64 * i + ID]!;
  }

  price(i: number): number {
    return this.f64[ROW_F64 * i + PRICE]!;
  }

  remaining(i: number): number {
    return this.f64[ROW_F64 * i + REMAINING]!;
  }

  filled(i: number): number {
    return this.f64[ROW_F64 * i + FILLED_QTY]!;
  }

  expireAt(i: number): number {
    return this.f64[ROW_F64 * i + EXPIRE_AT]!;
  }

  qty(i: number): number {
    return this.filled(i) + this.remaining(i);
  }

  accountOf(i: number): string {
    return this.account[i]!;
  }

  market(i: number): string {
    return marketName(this.i32[ROW_I32 * i + PACKED]! >>> MARKET_SHIFT);
  }

  isBuy(i: number): boolean {
    return (this.i32[ROW_I32 * i + PACKED]! & BUY) !== 0;
  }

  postOnly(i: number): boolean {
    return (this.i32[ROW_I32 * i + PACKED]! & POST_ONLY) !== 0;
  }

  orderType(i: number): OrderType {
    return ORDER_TYPES[(this.i32[ROW_I32 * i + PACKED]! >> TYPE_SHIFT) & 0b1]!;
  }

  tif(i: number): TimeInForce {
    return TIFS[(this.i32[ROW_I32 * i + PACKED]! >> TIF_SHIFT) & 0b11]!;
  }

  /** The self-trade mode's index in STP_MODES (0 is "none"). */
  stpIndex(i: number): number {
    return (this.i32[ROW_I32 * i + PACKED]! >> STP_SHIFT) & 0b111;
  }

  stp(i: number): StpMode {
    return STP_MODES[this.stpIndex(i)]!;
  }

  status(i: number): OrderStatus {
    return STATUSES[this.i32[ROW_I32 * i + PACKED]! & STATUS_MASK]!;
  }

  /** Working: new, open or partially filled. */
  live(i: number): boolean {
    return (this.i32[ROW_I32 * i + PACKED]! & STATUS_MASK) <= PARTIAL;
  }

  /** False for an order placed under a repeated cmdId with the test switch that allows it. */
  indexed(i: number): boolean {
    return (this.i32[ROW_I32 * i + PACKED]! & NOT_INDEXED) === 0;
  }

  cmdId(i: number): string {
    return (this.i32[ROW_I32 * i + PACKED]! & CMD_TEXT) !== 0 ? this.textOf(i) : uuidText(this.i32, ROW_I32 * i + CMD);
  }

  /** `cmdHash` of row i's cmdId, from its words when it is packed (no text rendered). */
  cmdHash(i: number): number {
    return (this.i32[ROW_I32 * i + PACKED]! & CMD_TEXT) !== 0 ? cmdHash(this.textOf(i)) : wordsHash(this.i32, ROW_I32 * i + CMD);
  }

  /** Copies row i's packed cmdId to `words[at..at+4)`; false, copying nothing, when it is kept as text. */
  cmdWordsTo(i: number, words: Int32Array, at: number): boolean {
    if ((this.i32[ROW_I32 * i + PACKED]! & CMD_TEXT) !== 0) return false;
    const from = ROW_I32 * i + CMD;
    for (let k = 0; k < CMD_WORDS; k++) words[at + k] = this.i32[from + k]!;
    return true;
  }

  /** Is `cmdId` row i's cmdId? */
  cmdIs(i: number, cmdId: string): boolean {
    return (this.i32[ROW_I32 * i + PACKED]! & CMD_TEXT) !== 0 ? this.textOf(i) === cmdId : uuidEquals(cmdId, this.i32, ROW_I32 * i + CMD);
  }

  /** Writes row i's cmdId as a msgpack string (a packed one straight from its words). */
  writeCmdId(w: MsgpackWriter, i: number): void {
    if ((this.i32[ROW_I32 * i + PACKED]! & CMD_TEXT) !== 0) {
      w.string(this.textOf(i));
    } else {
      uuidAscii(this.i32, ROW_I32 * i + CMD, asciiScratch);
      w.ascii(asciiScratch);
    }
  }

  /** Row i as a snapshot tuple. */
  tuple(i: number): OrderTuple {
    return [
      this.id(i), this.cmdId(i), this.accountOf(i), this.market(i), this.isBuy(i) ? 1 : 0, this.orderType(i), this.tif(i),
      this.stp(i), this.postOnly(i) ? 1 : 0, this.expireAt(i), this.price(i), this.remaining(i), this.filled(i), this.status(i),
    ];
  }

  /** Row i as an order tuple written field by field (the bytes packr.pack(tuple(i)) gives). */
  writeTupleTo(w: MsgpackWriter, i: number): void {
    w.arrayHeader(14).number(this.id(i));
    this.writeCmdId(w, i);
    w.string(this.accountOf(i)).string(this.market(i)).number(this.isBuy(i) ? 1 : 0);
    w.string(this.orderType(i)).string(this.tif(i)).string(this.stp(i)).number(this.postOnly(i) ? 1 : 0).number(this.expireAt(i));
    w.number(this.price(i)).number(this.remaining(i)).number(this.filled(i)).string(this.status(i));
  }

  view(i: number): OrderView {
    return {
      orderId: this.id(i),
      cmdId: this.cmdId(i),
      account: this.accountOf(i),
      market: this.market(i),
      side: this.isBuy(i) ? "buy" : "sell",
      orderType: this.orderType(i),
      tif: this.tif(i),
      price: this.price(i),
      qty: this.qty(i),
      filled: this.filled(i),
      remaining: this.remaining(i),
      status: this.status(i),
      expireAt: this.expireAt(i),
    };
  }
}
