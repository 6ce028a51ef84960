import { checkMarketSpec, deriveRules } from "../market-rules.js";
import { OrderBook } from "../order-book.js";
import type { Runtime } from "../runtime.js";
import type { MarketCommand, MarketSpec } from "../types.js";

/** Creates a market, or updates its rules and state (open/halted). */
export function defineMarket(rt: Runtime, c: MarketCommand, adminAccount: string): void {
  if (c.account !== adminAccount)
    return rt.reject(c, 0, "not_authorized", `only account ${adminAccount} may define markets`);
  const spec: MarketSpec = {
    symbol: c.symbol, tickSize: c.tickSize, lotSize: c.lotSize, minQty: c.minQty, maxQty: c.maxQty,
    refPrice: c.refPrice, bandBps: c.bandBps, state: c.state,
  };
  const bad = checkMarketSpec(spec);
  if (bad) return rt.reject({ ...c, market: c.symbol }, 0, bad.code, bad.message);
  const book = rt.state.markets.get(c.symbol);
  if (!book) {
    rt.state.markets.set(c.symbol, new OrderBook(deriveRules(spec)));
  } else {
    const old = book.rules.spec;
    if (book.resting > 0 && (old.tickSize !== spec.tickSize || old.lotSize !== spec.lotSize))
      return rt.reject({ ...c, market: c.symbol }, 0, "invalid_value", "tickSize and lotSize cannot change while orders rest");
    book.rules = deriveRules(spec);
  }
  rt.market(c.cmdId, spec);
  rt.done(c.cmdId, 0);
}

/** Expires every GTD order due at or before the partition's clock. */
export function expireDue(rt: Runtime): void {
  const q = rt.state.expiry;
  const st = rt.state.store;
  for (let o = q.peek(); o >= 0 && st.expireAt(o) <= rt.now; o = q.peek()) {
    rt.expire(rt.state.markets.get(st.market(o))!, o);
  }
}
