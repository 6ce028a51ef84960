import { fail } from "./assert.js";
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

  /**
   * Ends the command: market data for every price it changed, once each, in the order
   * the prices were first touched, with what rests there at the end. A level emptied
   * and replaced by a new one at its price within the command reports through the new
   * one, at the old one's place (the reference model keys touches by price; the engine
   * reported the new level at its own, later touch until a property test found an
   * expiry and an amend to the expired order's price in one command).
   */
  end(): void {
    this.state.commandDone();
    if (!this.marketData) return;
    for (let i = 0; i < this.touchedCount; i++) {
      const touched = this.touched[i]!;
      const lvl = touched.count === 0 ? (this.state.markets.get(touched.market)!.side(touched.isBuy).get(touched.price) ?? touched) : touched;
      if (lvl.reported === this.epoch) continue;
      lvl.reported = this.epoch;
      this.emit({
        partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
        type: "l2", market: lvl.market, side: lvl.isBuy ? "buy" : "sell", price: lvl.price, qty: lvl.total,
      });
    }
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

  /** Puts a working order (a store slot) on the book and into the partition's indexes. */
  rest(book: OrderBook, o: number): void {
    const s = this.state;
    const st = s.store;
    const lvl = book.side(st.isBuy(o)).levelAt(st.price(o));
    lvl.append(st, o);
    this.touch(lvl);
    book.resting++;
    s.indexOrder(o);
    s.orderRests(o);
    s.accounts.add(o);
    if (st.expireAt(o) > 0) s.expiry.push(o);
  }

  /**
   * Takes a resting order off its level, leaving it in the indexes (amend re-rests
   * it). With `keep`, an emptied level stays until `dropIfEmpty`, so an order that
   * returns to the same price keeps the same level (one market-data update).
   */
  lift(book: OrderBook, o: number, keep = false): PriceLevel {
    const st = this.state.store;
    const side = book.side(st.isBuy(o));
    const lvl = st.resting(o) ? side.get(st.price(o)) : undefined;
    if (lvl === undefined) fail(`order ${st.id(o)} is not resting`);
    lvl.remove(st, o);
    this.touch(lvl);
    if (lvl.count === 0 && !keep) side.drop(lvl);
    return lvl;
  }

  dropIfEmpty(book: OrderBook, lvl: PriceLevel): void {
    const side = book.side(lvl.isBuy);
    if (lvl.count === 0 && side.get(lvl.price) === lvl) side.drop(lvl);
  }

  /** Re-rests a lifted order at the back of its (possibly new) level. */
  reRest(book: OrderBook, o: number): void {
    const st = this.state.store;
    const lvl = book.side(st.isBuy(o)).levelAt(st.price(o));
    lvl.append(st, o);
    this.touch(lvl);
  }

  /**
   * A terminal order leaves the book and the indexes; its final state stays resident
   * for queries (TerminalOrders) and its slot is freed: the slot must not be used after.
   */
  finish(book: OrderBook, o: number): void {
    const s = this.state;
    const st = s.store;
    if (st.live(o)) fail(`order ${st.id(o)} finished while ${st.status(o)}`);
    if (s.unindexOrder(o)) {
      if (st.resting(o)) this.lift(book, o);
      book.resting--;
      s.accounts.remove(o);
      if (st.heapIndex(o) >= 0) s.expiry.remove(o);
    }
    if (st.resting(o)) fail(`order ${st.id(o)} finished on the book`);
    s.terminal.add(st, o);
    s.orderFinished(o);
    st.release(o);
  }

  /** Cancels a working or resting order and reports it (the slot is freed). */
  cancel(book: OrderBook, o: number, cmdId: string, reason: CancelReason): void {
    const st = this.state.store;
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "cancelled", cmdId, account: st.accountOf(o), market: st.market(o), orderId: st.id(o), remaining: st.remaining(o), reason,
    });
    st.cancel(o);
    this.finish(book, o);
  }

  /** Expires a resting GTD order and reports it (the slot is freed). */
  expire(book: OrderBook, o: number): void {
    const st = this.state.store;
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "expired", account: st.accountOf(o), market: st.market(o), orderId: st.id(o), remaining: st.remaining(o),
    });
    st.expire(o);
    this.finish(book, o);
  }

  // ---- events ----

  /** The order placed by the command with this cmdId was accepted. */
  accepted(o: number, cmdId: string): void {
    const st = this.state.store;
    this.state.remember(cmdId, o, true);
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "accepted", cmdId, account: st.accountOf(o), market: st.market(o), orderId: st.id(o),
      side: st.isBuy(o) ? "buy" : "sell", orderType: st.orderType(o), price: st.price(o), qty: st.remaining(o), tif: st.tif(o),
    });
  }

  trade(maker: number, taker: number, qty: number): void {
    const st = this.state.store;
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "trade", market: st.market(maker), tradeId: ++this.state.tradeSeq, price: st.price(maker), qty,
      takerSide: st.isBuy(taker) ? "buy" : "sell",
      maker: st.id(maker), makerAccount: st.accountOf(maker), makerRemaining: st.remaining(maker),
      taker: st.id(taker), takerAccount: st.accountOf(taker), takerRemaining: st.remaining(taker),
    });
  }

  amended(o: number, cmdId: string, priorityKept: boolean): void {
    const st = this.state.store;
    this.emit({
      partition: this.state.partition, seq: this.seqBase + this.count + 1, inSeq: this.inSeq, ts: this.state.now,
      type: "amended", cmdId, account: st.accountOf(o), market: st.market(o), orderId: st.id(o),
      price: st.price(o), remaining: st.remaining(o), priorityKept,
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
