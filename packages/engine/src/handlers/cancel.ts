import type { OrderBook } from "../order-book.js";
import type { Runtime } from "../runtime.js";
import type { AmendCommand, CancelAllCommand, CancelCommand } from "../types.js";

/**
 * The live order (a store slot) a cancel or amend names, or null after rejecting the
 * command: the market must exist, the order must rest in it, and belong to the sender.
 */
export function targetOrder(
  rt: Runtime,
  c: CancelCommand | AmendCommand,
): { book: OrderBook; order: number } | null {
  const book = rt.state.markets.get(c.market);
  if (!book) {
    rt.reject(c, c.orderId, "unknown_market", `market ${c.market} does not exist in this partition`);
    return null;
  }
  const st = rt.state.store;
  const o = rt.state.liveOrder(c.orderId);
  // Not live: a terminal order still resident answers with its status.
  const t = o < 0 ? rt.state.terminal.view(c.orderId) : undefined;
  const market = o >= 0 ? st.market(o) : t?.market;
  if (market !== c.market) {
    rt.reject(c, c.orderId, "unknown_order", `order ${c.orderId} is not known in market ${c.market}`);
    return null;
  }
  if ((o >= 0 ? st.accountOf(o) : t!.account) !== c.account) {
    rt.reject(c, c.orderId, "not_owner", `order ${c.orderId} belongs to another account`);
    return null;
  }
  if (o < 0) {
    rt.reject(c, c.orderId, "order_not_open", `order ${c.orderId} is ${t!.status}`);
    return null;
  }
  return { book, order: o };
}

export function cancel(rt: Runtime, c: CancelCommand): void {
  const t = targetOrder(rt, c);
  if (!t) return;
  rt.cancel(t.book, t.order, c.cmdId, "user");
  rt.done(c.cmdId, c.orderId);
}

/** Cancels the account's live orders, oldest first, in one market or all. */
export function cancelAll(rt: Runtime, c: CancelAllCommand): void {
  if (c.market !== undefined && !rt.state.markets.has(c.market))
    return rt.reject(c, 0, "unknown_market", `market ${c.market} does not exist in this partition`);
  const st = rt.state.store;
  for (const o of rt.state.accounts.orders(c.account)) {
    const market = st.market(o);
    if (c.market !== undefined && market !== c.market) continue;
    rt.cancel(rt.state.markets.get(market)!, o, c.cmdId, "cancel_all");
  }
  rt.done(c.cmdId, 0);
}
