import type { EngineEvent, Side } from "@bourse/engine";
import type { Violation } from "./violation.js";

interface OrderFill {
  market: string;
  side: Side;
  qty: number;
  filled: number;
  /** Open quantity as the events so far leave it. */
  remaining: number;
}

/**
 * Invariant 3 on durable output: every trade names orders of the right sides,
 * no order fills beyond the quantity it was accepted with, and per market the
 * quantity bought by buy orders equals the quantity sold by sell orders; the
 * open quantity each trade, cancel and expiry reports agrees with the fills.
 * Orders whose acceptance is not in the output (trimmed history) are skipped.
 */
export function checkFills(p: number, events: readonly EngineEvent[]): Violation[] {
  const orders = new Map<number, OrderFill>();
  const violations: Violation[] = [];
  const bought = new Map<string, number>();
  const sold = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, q: number) => m.set(k, (m.get(k) ?? 0) + q);
  for (const e of events) {
    if (e.type === "accepted") {
      orders.set(e.orderId, { market: e.market, side: e.side, qty: e.qty, filled: 0, remaining: e.qty });
      continue;
    }
    if (e.type === "amended") {
      const o = orders.get(e.orderId);
      if (o !== undefined) {
        // An amend sets the open quantity; the order's size becomes what is filled plus that.
        o.remaining = e.remaining;
        o.qty = o.filled + e.remaining;
      }
      continue;
    }
    if (e.type === "cancelled" || e.type === "expired") {
      const o = orders.get(e.orderId);
      if (o !== undefined && o.remaining !== e.remaining)
        violations.push({ check: "remaining_mismatch", partition: p, seq: e.seq, inSeq: e.inSeq, detail: `order ${e.orderId} ${e.type} with ${e.remaining} open, but its fills leave ${o.remaining}` });
      if (o !== undefined) o.remaining = 0;
      continue;
    }
    if (e.type !== "trade") continue;
    const makerSide: Side = e.takerSide === "buy" ? "sell" : "buy";
    let known = 0;
    for (const [id, side, reported] of [[e.taker, e.takerSide, e.takerRemaining], [e.maker, makerSide, e.makerRemaining]] as const) {
      const o = orders.get(id);
      if (o === undefined) continue;
      if (o.side !== side || o.market !== e.market) {
        violations.push({ check: "trade_side", partition: p, seq: e.seq, inSeq: e.inSeq, detail: `trade ${e.tradeId} fills order ${id} as a ${side} in ${e.market}, but it was accepted as a ${o.side} in ${o.market}` });
        continue;
      }
      known++;
      o.filled += e.qty;
      o.remaining -= e.qty;
      if (o.filled > o.qty || o.remaining < 0) violations.push({ check: "overfill", partition: p, seq: e.seq, inSeq: e.inSeq, detail: `order ${id} filled ${o.filled} of ${o.qty} (open ${o.remaining}) after trade ${e.tradeId}` });
      else if (o.remaining !== reported) violations.push({ check: "remaining_mismatch", partition: p, seq: e.seq, inSeq: e.inSeq, detail: `trade ${e.tradeId} reports order ${id} with ${reported} open, its fills leave ${o.remaining}` });
    }
    // Only trades whose two orders are both known count, so trimmed history cannot unbalance the sums.
    if (known === 2) {
      add(bought, e.market, e.qty);
      add(sold, e.market, e.qty);
    }
  }
  for (const market of new Set([...bought.keys(), ...sold.keys()])) {
    const b = bought.get(market) ?? 0;
    const s = sold.get(market) ?? 0;
    if (b !== s) violations.push({ check: "bought_sold", partition: p, detail: `market ${market}: buy orders bought ${b}, sell orders sold ${s}` });
  }
  return violations;
}
