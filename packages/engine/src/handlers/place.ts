import { checkPlace, marketLimit } from "../market-rules.js";
import { fillable, match } from "../matching.js";
import type { Runtime } from "../runtime.js";
import type { PlaceCommand } from "../types.js";

/** Default self-trade prevention: the newer order gives way. */
export const DEFAULT_STP = "cancel_taker";

/**
 * New order: validate everything first, then create its actor (a store slot), match, and rest
 * or cancel the remainder. The order id is the command's input sequence.
 */
export function place(rt: Runtime, c: PlaceCommand): void {
  const book = rt.state.markets.get(c.market);
  if (!book) return rt.reject(c, 0, "unknown_market", `market ${c.market} does not exist in this partition`);
  const bad = checkPlace(book.rules, c, rt.now);
  if (bad) return rt.reject(c, 0, bad.code, bad.message);
  const isBuy = c.side === "buy";
  const limit = c.type === "limit" ? c.price! : marketLimit(book.rules, c);
  if (c.postOnly && book.crosses(isBuy, limit))
    return rt.reject(c, 0, "post_only_would_take", `post-only order at ${limit} would take liquidity`);

  const st = rt.state.store;
  const o = st.alloc(
    rt.inSeq, c.cmdId, c.account, book.symbol, isBuy, c.type, c.tif,
    c.stp ?? DEFAULT_STP, c.postOnly === true, c.expireAt ?? 0, limit, c.qty,
  );
  st.open(o);
  rt.accepted(o, c.cmdId);
  if (c.tif === "FOK" && !fillable(rt, book, o, limit)) return rt.cancel(book, o, c.cmdId, "fok_unfillable");
  const stop = match(rt, book, o, limit, c.cmdId);
  if (st.remaining(o) === 0) return rt.finish(book, o);
  if (stop === "self_trade") return rt.cancel(book, o, c.cmdId, "self_trade");
  if (c.type === "market" || c.tif === "IOC" || c.tif === "FOK") return rt.cancel(book, o, c.cmdId, "ioc_remainder");
  rt.rest(book, o);
}
