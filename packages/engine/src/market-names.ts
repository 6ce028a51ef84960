import { fail } from "./assert.js";

/** Bits an order's packed field has for its market's index. */
export const MARKET_BITS = 18;
const MARKETS_MAX = 1 << MARKET_BITS;

/**
 * Market names by index, process-wide and append-only: an order keeps its market's
 * index in its packed field instead of a reference (markets are few and created by
 * admin commands, and an order for an unknown market is rejected before it is stored).
 */
const names: string[] = [];
const indexes = new Map<string, number>();

export function marketIndex(market: string): number {
  let i = indexes.get(market);
  if (i === undefined) {
    i = names.length;
    if (i >= MARKETS_MAX) fail(`more than ${MARKETS_MAX} market names in one process`);
    names.push(market);
    indexes.set(market, i);
  }
  return i;
}

export function marketName(index: number): string {
  return names[index]!;
}
