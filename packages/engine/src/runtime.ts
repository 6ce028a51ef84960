import { fail } from "./assert.js";
import type { OrderActor } from "./order-actor.js";
import type { OrderBook } from "./order-book.js";
import type { PartitionState } from "./partition-state.js";
import type { PriceLevel } from "./price-level.js";
import type {
  CancelReason,
  EngineEvent,
  MarketSpec,
  Outcome,
  RejectCode,
} from "./types.js";

/** What a rejection needs to know about the command it answers. */
export interface Addressee {
  cmdId: string;
  account: string;
  market?: string;
}

/**
 * The actor runtime for one command: it collects the events the actors emit,
 * stamps them, keeps the partition's indexes in step with each order's
 * lifecycle, and gathers the price levels touched for market data.
 */
export class Runtime {
  inSeq = 0;
  /**
   * Output sequence before this command: events are numbered as they are
   * emitted (the commit then only advances state.seq), which spares a
   * property store on events of every shape.
   */
  private seqBase = 0;
  private epoch = 0;
  /**
   * The command's events so far, and the levels it touched: buffers reused
   * from command to command (`events()` copies the events out), so that a
   * command allocates one exact-size array rather than growing fresh ones.
   */
  private readonly buf: (EngineEvent | undefined)[] = [];
  private count = 0;
  private readonly touched: PriceLevel[] = [];
  private touchedCount = 0;

  constructor(
    public state: PartitionState,
    readonly marketData: boolean,
  ) {}

  get now(): number {
    return this.state.now;
  }

  begin(inSeq: number, ts: number): void {
    this.count = 0;
    this.seqBase = this.state.seq;
    this.inSeq = inSeq;
    if (ts > this.state.now) this.state.now = ts;
    this.epoch++;
    this.touchedCount = 0;
  }

  /** Ends the command: market data for every level it changed. */
  end(): void {
    if (!this.marketData) return;
    for (let i = 0; i < this.touchedCount; i++) {
      const lvl = this.touched[i]!;
      if (lvl.count === 0 && this.replaced(lvl)) continue;
      this.emit({
        partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
        type: "l2", market: lvl.market, side: lvl.isBuy ? "buy" : "sell", price: lvl.price, qty: lvl.total,
      });
    }
  }

  /** An emptied level whose price got a new level in the same command: that one reports. */
  private replaced(lvl: PriceLevel): boolean {
    const now = this.state.markets.get(lvl.market)!.side(lvl.isBuy).get(lvl.price);
    return now !== undefined && now !== lvl;
  }

  touch(lvl: PriceLevel): void {
    if (lvl.mark === this.epoch) return;
    lvl.mark = this.epoch;
    this.touched[this.touchedCount++] = lvl;
  }

  /** The command's events, in emission order, in a new array of exactly their number. */
  events(): EngineEvent[] {
    const buf = this.buf as EngineEvent[];
    const n = this.count;
    // Most commands emit a handful of events: an array literal of that size is
    // allocated inline, where slice is a call into the runtime.
    const out =
      n === 2 ? [buf[0]!, buf[1]!]
      : n === 1 ? [buf[0]!]
      : n === 3 ? [buf[0]!, buf[1]!, buf[2]!]
      : n === 4 ? [buf[0]!, buf[1]!, buf[2]!, buf[3]!]
      : buf.slice(0, n);
    for (let i = 0; i < n; i++) this.buf[i] = undefined; // no stale references
    this.count = 0;
    return out;
  }

  private emit(e: EngineEvent): void {
    this.buf[this.count++] = e;
  }

  // ---- order lifecycle and indexes ----

  /** Puts a working order on the book and into the partition's indexes. */
  rest(book: OrderBook, o: OrderActor): void {
    const lvl = book.side(o.isBuy).levelAt(o.price);
    lvl.append(o);
    this.touch(lvl);
    book.resting++;
    const s = this.state;
    s.orders.set(o.id, o);
    s.accounts.add(o);
    if (o.expireAt > 0) s.expiry.push(o);
  }

  /**
   * Takes a resting order off its level, leaving it in the indexes (amend re-rests
   * it). With `keep`, an emptied level stays until `dropIfEmpty`, so an order that
   * returns to the same price keeps the same level (one market-data update).
   */
  lift(book: OrderBook, o: OrderActor, keep = false): PriceLevel {
    const lvl = o.level;
    if (lvl === null) fail(`order ${o.id} is not resting`);
    lvl.remove(o);
    this.touch(lvl);
    if (lvl.count === 0 && !keep) book.side(o.isBuy).drop(lvl);
    return lvl;
  }

  dropIfEmpty(book: OrderBook, lvl: PriceLevel): void {
    const side = book.side(lvl.isBuy);
    if (lvl.count === 0 && side.get(lvl.price) === lvl) side.drop(lvl);
  }

  /** Re-rests a lifted order at the back of its (possibly new) level. */
  reRest(book: OrderBook, o: OrderActor): void {
    const lvl = book.side(o.isBuy).levelAt(o.price);
    lvl.append(o);
    this.touch(lvl);
  }

  /** A terminal order leaves the book and the indexes; it stays resident for queries. */
  finish(book: OrderBook, o: OrderActor): void {
    if (o.live) fail(`order ${o.id} finished while ${o.status}`);
    const s = this.state;
    // Ids are unique, so an indexed entry for o.id is o: one probe both tests and removes.
    if (s.orders.delete(o.id)) {
      if (o.level) this.lift(book, o);
      book.resting--;
      s.accounts.remove(o);
      if (o.heapIndex >= 0) s.expiry.remove(o);
    }
    if (o.level !== null) fail(`order ${o.id} finished on the book`);
    s.terminal.add(o);
    s.orderFinished(o);
  }

  /** Cancels a working or resting order and reports it. */
  cancel(book: OrderBook, o: OrderActor, cmdId: string, reason: CancelReason): void {
    const remaining = o.remaining;
    o.cancel();
    this.finish(book, o);
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "cancelled", cmdId, account: o.account, market: o.market, orderId: o.id, remaining, reason,
    });
  }

  expire(book: OrderBook, o: OrderActor): void {
    const remaining = o.remaining;
    o.expire();
    this.finish(book, o);
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "expired", account: o.account, market: o.market, orderId: o.id, remaining,
    });
  }

  // ---- events ----

  accepted(o: OrderActor): void {
    this.state.remember(o.cmdId, o);
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "accepted", cmdId: o.cmdId, account: o.account, market: o.market, orderId: o.id,
      side: o.isBuy ? "buy" : "sell", orderType: o.orderType, price: o.price, qty: o.remaining, tif: o.tif,
    });
  }

  trade(maker: OrderActor, taker: OrderActor, qty: number): void {
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "trade", market: maker.market, tradeId: ++this.state.tradeSeq, price: maker.price, qty,
      takerSide: taker.isBuy ? "buy" : "sell",
      maker: maker.id, makerAccount: maker.account, makerRemaining: maker.remaining,
      taker: taker.id, takerAccount: taker.account, takerRemaining: taker.remaining,
    });
  }

  amended(o: OrderActor, cmdId: string, priorityKept: boolean): void {
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "amended", cmdId, account: o.account, market: o.market, orderId: o.id,
      price: o.price, remaining: o.remaining, priorityKept,
    });
  }

  /** A business rejection; remembered so a repeat of the command restates it. */
  reject(c: Addressee, orderId: number, code: RejectCode, message: string, remember = true): void {
    if (remember) this.state.remember(c.cmdId, { result: "rejected", orderId, code });
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "rejected", cmdId: c.cmdId, account: c.account, market: c.market ?? "", orderId, code, message,
    });
  }

  duplicate(c: Addressee, original: Outcome): void {
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "duplicate", cmdId: c.cmdId, account: c.account, original,
    });
  }

  market(cmdId: string, spec: MarketSpec): void {
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "market", cmdId, spec,
    });
  }

  /** Records a command that finished without a rejection. */
  done(cmdId: string, orderId: number): void {
    this.state.remember(cmdId, orderId);
  }
}
