import { assert, fail } from "./assert.js";
import type { OrderBook } from "./order-book.js";
import { NONE } from "./order-store.js";
import type { PriceLevel } from "./price-level.js";
import type { Runtime } from "./runtime.js";

/** Why matching stopped early with quantity left, if it did. */
export type MatchStop = "self_trade" | null;

/** STP_MODES index of "none": no self-trade prevention. */
const STP_NONE = 0;

/**
 * Matches a working taker (a store slot) against the opposite side, best price
 * first, then time priority within a level, while prices are within `limit`.
 * Trades happen at the maker's price. `cmdId` is the command being applied: it
 * is named in the events this causes.
 */
export function match(rt: Runtime, book: OrderBook, taker: number, limit: number, cmdId: string): MatchStop {
  const s = rt.state.store;
  const isBuy = s.isBuy(taker);
  const opposite = book.side(!isBuy);
  const stp = s.stpIndex(taker);
  while (s.remaining(taker) > 0) {
    const lvl = opposite.best();
    if (lvl === undefined) return null;
    if (isBuy ? lvl.price > limit : lvl.price < limit) return null;
    let maker = lvl.head;
    while (maker !== NONE && s.remaining(taker) > 0) {
      const next = s.next(maker);
      if (stp !== STP_NONE && s.account[maker] === s.account[taker]) {
        if (preventSelfTrade(rt, book, lvl, taker, maker, cmdId)) return "self_trade";
      } else {
        trade(rt, book, lvl, maker, taker);
      }
      maker = next;
    }
    assert(s.remaining(taker) === 0 || opposite.best() !== lvl, "matching made no progress");
  }
  return null;
}

function trade(rt: Runtime, book: OrderBook, lvl: PriceLevel, maker: number, taker: number): void {
  const s = rt.state.store;
  const mr = s.remaining(maker);
  const tr = s.remaining(taker);
  const q = mr < tr ? mr : tr;
  s.fill(maker, q);
  lvl.reduced(q);
  rt.touch(lvl);
  s.fill(taker, q);
  rt.trade(maker, taker, q);
  if (mr === q) rt.finish(book, maker);
}

/** Applies the taker's self-trade prevention mode; true when the taker must stop. */
function preventSelfTrade(rt: Runtime, book: OrderBook, lvl: PriceLevel, taker: number, maker: number, cmdId: string): boolean {
  const stp = rt.state.store.stp(taker);
  switch (stp) {
    case "cancel_taker":
      return true;
    case "cancel_maker":
      rt.cancel(book, maker, cmdId, "self_trade");
      return false;
    case "cancel_both":
      rt.cancel(book, maker, cmdId, "self_trade");
      return true;
    case "decrement":
      return decrement(rt, book, lvl, taker, maker, cmdId);
    default:
      fail(`stp ${stp} reached prevention`);
  }
}

/** Both orders shrink by their overlap without trading; the smaller one is cancelled. */
function decrement(rt: Runtime, book: OrderBook, lvl: PriceLevel, taker: number, maker: number, cmdId: string): boolean {
  const s = rt.state.store;
  const overlap = Math.min(s.remaining(taker), s.remaining(maker));
  if (s.remaining(maker) > overlap) {
    s.reduce(maker, overlap);
    lvl.reduced(overlap);
    rt.touch(lvl);
    rt.amended(maker, cmdId, true);
    return true;
  }
  rt.cancel(book, maker, cmdId, "self_trade");
  if (s.remaining(taker) > overlap) {
    s.reduce(taker, overlap);
    rt.amended(taker, cmdId, true);
    return false;
  }
  return true;
}

/**
 * Fill-or-kill: would matching fill the taker completely without self-trade
 * prevention stopping it? Walks the book without changing it.
 */
export function fillable(rt: Runtime, book: OrderBook, taker: number, limit: number): boolean {
  const s = rt.state.store;
  const isBuy = s.isBuy(taker);
  const stp = s.stp(taker);
  let need = s.remaining(taker);
  for (const lvl of book.side(!isBuy).bestFirst()) {
    if (isBuy ? lvl.price > limit : lvl.price < limit) return false;
    for (let o = lvl.head; o !== NONE; o = s.next(o)) {
      if (stp !== "none" && s.account[o] === s.account[taker]) {
        if (stp === "cancel_maker") continue;
        if (stp !== "decrement" || s.remaining(o) >= need) return false;
        need -= s.remaining(o);
        continue;
      }
      need -= s.remaining(o);
      if (need <= 0) return true;
    }
  }
  return false;
}
