import { checkMarketSpec, checkPlace, checkPrice, deriveRules, marketLimit, type MarketRules } from "../market-rules.js";
import type {
  CancelReason, Command, EngineEvent, MarketCommand, Outcome, OrderStatus, OrderType, PlaceCommand,
  RejectCode, Side, StpMode, TimeInForce, AmendCommand, CancelCommand, CancelAllCommand,
} from "../types.js";

/** An order as the model keeps it: a plain record, never linked into anything. */
export interface ModelOrder {
  id: number;
  cmdId: string;
  account: string;
  market: string;
  side: Side;
  type: OrderType;
  tif: TimeInForce;
  stp: StpMode;
  postOnly: boolean;
  expireAt: number;
  price: number;
  remaining: number;
  filled: number;
  status: OrderStatus;
  /** Time priority: lower goes first; renewed when priority is lost. */
  stamp: number;
  resting: boolean;
}

type Level = `${string}|${Side}|${number}`;

/**
 * The reference matcher: every order in one array, the best maker found by a
 * full scan each time, FOK decided by trying on a copy. Slow and obviously
 * right; the fast engine must emit exactly the same events. Validation rules
 * (market-rules.ts) are shared with the engine; matching is not.
 */
export class ReferenceModel {
  readonly markets = new Map<string, MarketRules>();
  orders: ModelOrder[] = [];
  readonly seen = new Map<string, Outcome>();
  seq = 0;
  tradeSeq = 0;
  now = 0;
  private stamps = 0;
  private out: EngineEvent[] = [];
  private inSeq = 0;
  private touched: Level[] = [];

  constructor(readonly partition: number, readonly adminAccount = "admin") {}

  apply(c: Command, inSeq: number, ts: number): EngineEvent[] {
    this.out = [];
    this.touched = [];
    this.inSeq = inSeq;
    this.now = Math.max(this.now, ts);
    this.expire();
    const prior = this.prior(c.cmdId);
    if (prior) this.push({ type: "duplicate", cmdId: c.cmdId, account: c.account, original: prior });
    else this.handle(c);
    for (const l of this.touched) {
      const [market, side, price] = l.split("|") as [string, Side, string];
      const qty = this.resting(market, side).filter((o) => o.price === Number(price)).reduce((a, o) => a + o.remaining, 0);
      this.push({ type: "l2", market, side, price: Number(price), qty });
    }
    for (const e of this.out) e.seq = ++this.seq;
    return this.out;
  }

  /** An input the node could not decode, answered in sequence (as PartitionEngine.reject). */
  rejectInput(inSeq: number, ts: number, r: { cmdId: string; account: string; market?: string; orderId: number; code: RejectCode; message: string }): EngineEvent[] {
    this.out = [];
    this.touched = [];
    this.inSeq = inSeq;
    this.now = Math.max(this.now, ts);
    const fresh = r.cmdId !== "" && !this.seen.has(r.cmdId) && !this.orders.some((o) => o.resting && o.cmdId === r.cmdId);
    if (fresh) this.seen.set(r.cmdId, { result: "rejected", orderId: r.orderId, code: r.code });
    this.push({ type: "rejected", cmdId: r.cmdId, account: r.account, market: r.market ?? "", orderId: r.orderId, code: r.code, message: r.message });
    for (const e of this.out) e.seq = ++this.seq;
    return this.out;
  }

  /** Every resting order of one side of a market, best first. */
  resting(market: string, side: Side): ModelOrder[] {
    const sign = side === "buy" ? -1 : 1;
    return this.orders
      .filter((o) => o.resting && o.market === market && o.side === side)
      .sort((a, b) => sign * (a.price - b.price) || a.stamp - b.stamp);
  }

  private handle(c: Command): void {
    if (c.kind === "place") this.place(c);
    else if (c.kind === "cancel") this.cancelCmd(c);
    else if (c.kind === "amend") this.amend(c);
    else if (c.kind === "cancelAll") this.cancelAll(c);
    else if (c.kind === "market") this.market(c);
    else this.seen.set(c.cmdId, { result: "done", orderId: 0 });
  }

  private prior(cmdId: string): Outcome | undefined {
    const live = this.orders.find((o) => o.resting && o.cmdId === cmdId);
    return live ? { result: "accepted", orderId: live.id } : this.seen.get(cmdId);
  }

  private push(e: Record<string, unknown>): void {
    this.out.push({ partition: this.partition, seq: 0, inSeq: this.inSeq, ts: this.now, ...e } as EngineEvent);
  }

  private touch(o: ModelOrder): void {
    const l: Level = `${o.market}|${o.side}|${o.price}`;
    if (!this.touched.includes(l)) this.touched.push(l);
  }

  private reject(c: { cmdId: string; account: string; market?: string }, orderId: number, code: RejectCode, message: string): void {
    this.seen.set(c.cmdId, { result: "rejected", orderId, code });
    this.push({ type: "rejected", cmdId: c.cmdId, account: c.account, market: c.market ?? "", orderId, code, message });
  }

  private end(o: ModelOrder, status: OrderStatus): void {
    if (o.resting) this.touch(o);
    o.resting = false;
    o.status = status;
    this.seen.set(o.cmdId, { result: "accepted", orderId: o.id });
  }

  private cancel(o: ModelOrder, cmdId: string, reason: CancelReason): void {
    this.end(o, "cancelled");
    this.push({ type: "cancelled", cmdId, account: o.account, market: o.market, orderId: o.id, remaining: o.remaining, reason });
  }

  private expire(): void {
    const due = this.orders.filter((o) => o.resting && o.expireAt > 0 && o.expireAt <= this.now);
    due.sort((a, b) => a.expireAt - b.expireAt || a.id - b.id);
    for (const o of due) {
      this.end(o, "expired");
      this.push({ type: "expired", account: o.account, market: o.market, orderId: o.id, remaining: o.remaining });
    }
  }

  private market(c: MarketCommand): void {
    if (c.account !== this.adminAccount)
      return this.reject(c, 0, "not_authorized", `only account ${this.adminAccount} may define markets`);
    const { kind: _k, cmdId: _c, account: _a, ...spec } = c;
    const bad = checkMarketSpec(spec);
    if (bad) return this.reject({ ...c, market: c.symbol }, 0, bad.code, bad.message);
    const old = this.markets.get(c.symbol);
    const resting = this.orders.some((o) => o.resting && o.market === c.symbol);
    if (old && resting && (old.spec.tickSize !== spec.tickSize || old.spec.lotSize !== spec.lotSize))
      return this.reject({ ...c, market: c.symbol }, 0, "invalid_value", "tickSize and lotSize cannot change while orders rest");
    this.markets.set(c.symbol, deriveRules(spec));
    this.push({ type: "market", cmdId: c.cmdId, spec });
    this.seen.set(c.cmdId, { result: "done", orderId: 0 });
  }

  private place(c: PlaceCommand): void {
    const r = this.markets.get(c.market);
    if (!r) return this.reject(c, 0, "unknown_market", `market ${c.market} does not exist in this partition`);
    const bad = checkPlace(r, c, this.now);
    if (bad) return this.reject(c, 0, bad.code, bad.message);
    const limit = c.type === "limit" ? c.price! : marketLimit(r, c);
    if (c.postOnly && this.crosses(c.market, c.side, limit))
      return this.reject(c, 0, "post_only_would_take", `post-only order at ${limit} would take liquidity`);
    const o: ModelOrder = {
      id: this.inSeq, cmdId: c.cmdId, account: c.account, market: c.market, side: c.side, type: c.type, tif: c.tif,
      stp: c.stp ?? "cancel_taker", postOnly: c.postOnly === true, expireAt: c.expireAt ?? 0, price: limit,
      remaining: c.qty, filled: 0, status: "open", stamp: ++this.stamps, resting: false,
    };
    this.orders.push(o);
    this.push({
      type: "accepted", cmdId: o.cmdId, account: o.account, market: o.market, orderId: o.id, side: o.side,
      orderType: o.type, price: o.price, qty: o.remaining, tif: o.tif,
    });
    if (c.tif === "FOK" && !this.wouldFill(o)) return this.cancel(o, c.cmdId, "fok_unfillable");
    this.work(o, c.cmdId, c.type === "market" || c.tif !== "GTC" && c.tif !== "GTD");
  }

  /** Matches a working order, then rests it, or cancels what is left. */
  private work(o: ModelOrder, cmdId: string, immediate: boolean): void {
    const stop = this.matchTaker(o, cmdId);
    if (o.remaining === 0) return this.end(o, "filled");
    if (stop) return this.cancel(o, cmdId, "self_trade");
    if (immediate) return this.cancel(o, cmdId, "ioc_remainder");
    o.resting = true;
    this.touch(o);
  }

  private crosses(market: string, side: Side, price: number): boolean {
    const best = this.resting(market, side === "buy" ? "sell" : "buy")[0];
    return best !== undefined && (side === "buy" ? best.price <= price : best.price >= price);
  }

  /** Runs the match on a copy of the orders and reports whether the taker filled. */
  private wouldFill(taker: ModelOrder): boolean {
    const saved = { orders: this.orders, out: this.out, touched: this.touched, seen: new Map(this.seen), trades: this.tradeSeq };
    this.orders = this.orders.map((o) => ({ ...o }));
    const t = this.orders.find((o) => o.id === taker.id && o.cmdId === taker.cmdId)!;
    this.out = [];
    this.touched = [];
    const stop = this.matchTaker(t, taker.cmdId);
    const ok = t.remaining === 0 && !stop;
    this.orders = saved.orders;
    this.out = saved.out;
    this.touched = saved.touched;
    this.tradeSeq = saved.trades;
    this.seen.clear();
    for (const [k, v] of saved.seen) this.seen.set(k, v);
    return ok;
  }

  /** True when self-trade prevention stopped the taker. */
  private matchTaker(t: ModelOrder, cmdId: string): boolean {
    const opp = t.side === "buy" ? "sell" : "buy";
    for (;;) {
      if (t.remaining === 0) return false;
      const m = this.resting(t.market, opp)[0];
      if (!m || (t.side === "buy" ? m.price > t.price : m.price < t.price)) return false;
      if (m.account === t.account && t.stp !== "none") {
        if (this.selfTrade(t, m, cmdId)) return true;
        continue;
      }
      const q = Math.min(m.remaining, t.remaining);
      m.remaining -= q;
      m.filled += q;
      t.remaining -= q;
      t.filled += q;
      this.touch(m);
      this.push({
        type: "trade", market: t.market, tradeId: ++this.tradeSeq, price: m.price, qty: q, takerSide: t.side,
        maker: m.id, makerAccount: m.account, makerRemaining: m.remaining,
        taker: t.id, takerAccount: t.account, takerRemaining: t.remaining,
      });
      if (m.remaining === 0) this.end(m, "filled");
      else m.status = "partially_filled";
      t.status = t.remaining === 0 ? "filled" : "partially_filled";
    }
  }

  private selfTrade(t: ModelOrder, m: ModelOrder, cmdId: string): boolean {
    if (t.stp === "cancel_taker") return true;
    if (t.stp === "cancel_maker" || t.stp === "cancel_both") {
      this.cancel(m, cmdId, "self_trade");
      return t.stp === "cancel_both";
    }
    if (m.remaining > t.remaining) {
      m.remaining -= t.remaining;
      this.touch(m);
      this.push(amendedEvent(m, cmdId, true));
      return true;
    }
    const overlap = m.remaining;
    this.cancel(m, cmdId, "self_trade");
    if (t.remaining === overlap) return true;
    t.remaining -= overlap;
    this.push(amendedEvent(t, cmdId, true));
    return false;
  }

  private target(c: CancelCommand | AmendCommand): ModelOrder | null {
    if (!this.markets.has(c.market)) {
      this.reject(c, c.orderId, "unknown_market", `market ${c.market} does not exist in this partition`);
      return null;
    }
    const o = this.orders.find((x) => x.id === c.orderId && x.market === c.market);
    if (!o) this.reject(c, c.orderId, "unknown_order", `order ${c.orderId} is not known in market ${c.market}`);
    else if (o.account !== c.account) this.reject(c, c.orderId, "not_owner", `order ${c.orderId} belongs to another account`);
    else if (!o.resting) this.reject(c, c.orderId, "order_not_open", `order ${c.orderId} is ${o.status}`);
    else return o;
    return null;
  }

  private cancelCmd(c: CancelCommand): void {
    const o = this.target(c);
    if (!o) return;
    this.cancel(o, c.cmdId, "user");
    this.seen.set(c.cmdId, { result: "done", orderId: c.orderId });
  }

  private cancelAll(c: CancelAllCommand): void {
    if (c.market !== undefined && !this.markets.has(c.market))
      return this.reject(c, 0, "unknown_market", `market ${c.market} does not exist in this partition`);
    const mine = this.orders.filter((o) => o.resting && o.account === c.account && (c.market === undefined || o.market === c.market));
    for (const o of mine) this.cancel(o, c.cmdId, "cancel_all");
    this.seen.set(c.cmdId, { result: "done", orderId: 0 });
  }

  private amend(c: AmendCommand): void {
    const o = this.target(c);
    if (!o) return;
    const r = this.markets.get(c.market)!;
    const price = c.price ?? o.price;
    const qty = c.qty ?? o.remaining;
    const s = r.spec;
    let bad: { code: RejectCode; message: string } | null = null;
    if (s.state !== "open") bad = { code: "market_halted", message: `market ${s.symbol} is halted` };
    else if (price === o.price && qty === o.remaining) bad = { code: "no_change", message: "amend changes neither price nor quantity" };
    else if (price !== o.price && checkPrice(r, price, "price")) bad = checkPrice(r, price, "price");
    else if (qty % s.lotSize !== 0) bad = { code: "invalid_lot", message: `qty ${qty} is not a multiple of lot size ${s.lotSize}` };
    else if (qty > s.maxQty) bad = { code: "qty_above_max", message: `qty ${qty} is above the maximum ${s.maxQty}` };
    else if (o.postOnly && this.crosses(o.market, o.side, price))
      bad = { code: "post_only_would_take", message: `post-only order at ${price} would take liquidity` };
    if (bad) return this.reject(c, o.id, bad.code, bad.message);
    this.seen.set(c.cmdId, { result: "done", orderId: o.id });
    this.touch(o);
    if (price === o.price && qty < o.remaining) {
      o.remaining = qty;
      return this.push(amendedEvent(o, c.cmdId, true));
    }
    o.resting = false;
    o.price = price;
    o.remaining = qty;
    o.stamp = ++this.stamps;
    this.push(amendedEvent(o, c.cmdId, false));
    this.work(o, c.cmdId, false);
  }
}

function amendedEvent(o: ModelOrder, cmdId: string, priorityKept: boolean): Record<string, unknown> {
  return {
    type: "amended", cmdId, account: o.account, market: o.market, orderId: o.id, price: o.price,
    remaining: o.remaining, priorityKept,
  };
}
