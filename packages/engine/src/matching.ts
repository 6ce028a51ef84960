import { assert, fail } from "./assert.js";
import type { OrderActor } from "./order-actor.js";
import type { OrderBook } from "./order-book.js";
import type { PriceLevel } from "./price-level.js";
import type { Runtime } from "./runtime.js";

/** Why matching stopped early with quantity left, if it did. */
export type MatchStop = "self_trade" | null;

/**
 * Matches a working taker against the opposite side, best price first, then
 * time priority within a level, while prices are within `limit`. Trades happen
 * at the maker's price.
 */
/** `cmdId` is the command being applied: it is named in the events this causes. */
export function match(rt: Runtime, book: OrderBook, taker: OrderActor, limit: number, cmdId: string): MatchStop {
  const opposite = book.side(!taker.isBuy);
  while (taker.remaining > 0) {
    const lvl = opposite.best();
    if (lvl === undefined) return null;
    if (taker.isBuy ? lvl.price > limit : lvl.price < limit) return null;
    let maker = lvl.head;
    while (maker !== null && taker.remaining > 0) {
      const next = maker.next;
      if (maker.account === taker.account && taker.stp !== "none") {
        if (preventSelfTrade(rt, book, lvl, taker, maker, cmdId)) return "self_trade";
      } else {
        trade(rt, book, lvl, maker, taker);
      }
      maker = next;
    }
    assert(taker.remaining === 0 || opposite.best() !== lvl, "matching made no progress");
  }
  return null;
}

function trade(rt: Runtime, book: OrderBook, lvl: PriceLevel, maker: OrderActor, taker: OrderActor): void {
  const q = maker.remaining < taker.remaining ? maker.remaining : taker.remaining;
  maker.fill(q);
  lvl.reduced(q);
  rt.touch(lvl);
  taker.fill(q);
  rt.trade(maker, taker, q);
  if (maker.remaining === 0) rt.finish(book, maker);
}

/** Applies the taker's self-trade prevention mode; true when the taker must stop. */
function preventSelfTrade(
  rt: Runtime,
  book: OrderBook,
  lvl: PriceLevel,
  taker: OrderActor,
  maker: OrderActor,
  cmdId: string,
): boolean {
  switch (taker.stp) {
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
      fail(`stp ${taker.stp} reached prevention`);
  }
}

/** Both orders shrink by their overlap without trading; the smaller one is cancelled. */
function decrement(
  rt: Runtime, book: OrderBook, lvl: PriceLevel, taker: OrderActor, maker: OrderActor, cmdId: string,
): boolean {
  const overlap = Math.min(taker.remaining, maker.remaining);
  if (maker.remaining > overlap) {
    maker.reduce(overlap);
    lvl.reduced(overlap);
    rt.touch(lvl);
    rt.amended(maker, cmdId, true);
    return true;
  }
  rt.cancel(book, maker, cmdId, "self_trade");
  if (taker.remaining > overlap) {
    taker.reduce(overlap);
    rt.amended(taker, cmdId, true);
    return false;
  }
  return true;
}

/**
 * Fill-or-kill: would matching fill the taker completely without self-trade
 * prevention stopping it? Walks the book without changing it.
 */
export function fillable(book: OrderBook, taker: OrderActor, limit: number): boolean {
  let need = taker.remaining;
  for (const lvl of book.side(!taker.isBuy).bestFirst()) {
    if (taker.isBuy ? lvl.price > limit : lvl.price < limit) return false;
    for (let o = lvl.head; o !== null; o = o.next) {
      if (o.account === taker.account && taker.stp !== "none") {
        if (taker.stp === "cancel_maker") continue;
        if (taker.stp !== "decrement" || o.remaining >= need) return false;
        need -= o.remaining;
        continue;
      }
      need -= o.remaining;
      if (need <= 0) return true;
    }
  }
  return false;
}
