import { checkPrice } from "../market-rules.js";
import { match } from "../matching.js";
import { reject, type Rejection } from "../rejection.js";
import type { Runtime } from "../runtime.js";
import type { AmendCommand } from "../types.js";
import { targetOrder } from "./cancel.js";

/**
 * Amend: a smaller open quantity at the same price keeps time priority; a new
 * price or a larger quantity goes to the back, and a new price that crosses
 * trades first like a new order would.
 */
export function amend(rt: Runtime, c: AmendCommand): void {
  const t = targetOrder(rt, c);
  if (!t) return;
  const { book, order: o } = t;
  const st = rt.state.store;
  const oldPrice = st.price(o);
  const oldQty = st.remaining(o);
  const price = c.price ?? oldPrice;
  const qty = c.qty ?? oldQty;
  const bad = checkAmend(rt, c, price, qty, oldPrice, oldQty, st.postOnly(o) && book.crosses(st.isBuy(o), price));
  if (bad) return rt.reject(c, st.id(o), bad.code, bad.message);

  if (price === oldPrice && qty < oldQty) {
    const lvl = book.side(st.isBuy(o)).get(price)!;
    const less = oldQty - qty;
    st.reduce(o, less);
    lvl.reduced(less);
    rt.touch(lvl);
    rt.amended(o, c.cmdId, true);
    return rt.done(c.cmdId, c.orderId);
  }
  const old = rt.lift(book, o, true);
  st.replace(o, price, qty);
  rt.amended(o, c.cmdId, false);
  rt.done(c.cmdId, c.orderId);
  const stop = match(rt, book, o, price, c.cmdId);
  if (st.remaining(o) === 0) rt.finish(book, o);
  else if (stop === "self_trade") rt.cancel(book, o, c.cmdId, "self_trade");
  else rt.reRest(book, o);
  rt.dropIfEmpty(book, old);
}

function checkAmend(
  rt: Runtime,
  c: AmendCommand,
  price: number,
  qty: number,
  oldPrice: number,
  oldQty: number,
  postOnlyTakes: boolean,
): Rejection | null {
  const book = rt.state.markets.get(c.market)!;
  const s = book.rules.spec;
  if (s.state !== "open") return reject("market_halted", `market ${s.symbol} is halted`);
  if (price === oldPrice && qty === oldQty) return reject("no_change", "amend changes neither price nor quantity");
  if (price !== oldPrice) {
    const p = checkPrice(book.rules, price, "price");
    if (p) return p;
  }
  if (qty % s.lotSize !== 0) return reject("invalid_lot", `qty ${qty} is not a multiple of lot size ${s.lotSize}`);
  if (qty > s.maxQty) return reject("qty_above_max", `qty ${qty} is above the maximum ${s.maxQty}`);
  if (postOnlyTakes) return reject("post_only_would_take", `post-only order at ${price} would take liquidity`);
  return null;
}
