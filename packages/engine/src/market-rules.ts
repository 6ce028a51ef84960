import { limits } from "./limits.js";
import { reject, type Rejection } from "./rejection.js";
import type { MarketSpec, PlaceCommand } from "./types.js";

/** A market's spec plus the band edges derived from it once. */
export interface MarketRules {
  spec: MarketSpec;
  /** Lowest and highest prices inside the band, multiples of tickSize. */
  bandLow: number;
  bandHigh: number;
}

export function deriveRules(spec: MarketSpec): MarketRules {
  const half = Number((BigInt(spec.refPrice) * BigInt(spec.bandBps)) / 10_000n);
  const t = spec.tickSize;
  const low = Math.max(t, Math.ceil((spec.refPrice - half) / t) * t);
  const high = Math.floor((spec.refPrice + half) / t) * t;
  return { spec, bandLow: low, bandHigh: high };
}

/** Checks a market spec for internal consistency; null when valid. */
export function checkMarketSpec(s: MarketSpec): Rejection | null {
  if (s.symbol.length === 0) return reject("invalid_value", "symbol must not be empty");
  if (s.tickSize < 1) return reject("invalid_value", "tickSize must be at least 1");
  if (s.lotSize < 1) return reject("invalid_value", "lotSize must be at least 1");
  if (s.minQty < s.lotSize || s.minQty % s.lotSize !== 0)
    return reject("invalid_value", "minQty must be a positive multiple of lotSize");
  if (s.maxQty < s.minQty || s.maxQty % s.lotSize !== 0)
    return reject("invalid_value", "maxQty must be a multiple of lotSize and at least minQty");
  if (s.maxQty > limits.qtyMax) return reject("invalid_value", `maxQty must be at most ${limits.qtyMax}`);
  if (s.refPrice < s.tickSize || s.refPrice % s.tickSize !== 0)
    return reject("invalid_value", "refPrice must be a positive multiple of tickSize");
  if (s.refPrice > limits.priceMax) return reject("invalid_value", `refPrice must be at most ${limits.priceMax}`);
  if (s.bandBps < 1 || s.bandBps > limits.bandBpsMax)
    return reject("invalid_value", `bandBps must be between 1 and ${limits.bandBpsMax}`);
  return null;
}

/** A price for this market: on the tick grid and inside the band. */
export function checkPrice(r: MarketRules, price: number, field: string): Rejection | null {
  if (price % r.spec.tickSize !== 0)
    return reject("invalid_tick", `${field} ${price} is not a multiple of tick size ${r.spec.tickSize}`);
  if (price < r.bandLow || price > r.bandHigh)
    return reject("price_out_of_band", `${field} ${price} is outside the band [${r.bandLow}, ${r.bandHigh}]`);
  return null;
}

/** A quantity for this market: on the lot grid and within min/max. */
export function checkQty(r: MarketRules, qty: number): Rejection | null {
  const s = r.spec;
  if (qty % s.lotSize !== 0) return reject("invalid_lot", `qty ${qty} is not a multiple of lot size ${s.lotSize}`);
  if (qty < s.minQty) return reject("qty_below_min", `qty ${qty} is below the minimum ${s.minQty}`);
  if (qty > s.maxQty) return reject("qty_above_max", `qty ${qty} is above the maximum ${s.maxQty}`);
  return null;
}

/** Every rule a new order must pass before anything is mutated. */
export function checkPlace(r: MarketRules, c: PlaceCommand, now: number): Rejection | null {
  if (r.spec.state !== "open") return reject("market_halted", `market ${r.spec.symbol} is halted`);
  const q = checkQty(r, c.qty);
  if (q) return q;
  if (c.type === "limit") {
    if (c.price === undefined) return reject("missing_field", "limit orders need a price");
    if (c.protectionPrice !== undefined)
      return reject("invalid_value", "protectionPrice applies to market orders only");
    const p = checkPrice(r, c.price, "price");
    if (p) return p;
  } else {
    if (c.price !== undefined) return reject("invalid_value", "market orders take no price; use protectionPrice");
    if (c.tif !== "IOC" && c.tif !== "FOK") return reject("invalid_value", "market orders must be IOC or FOK");
    if (c.postOnly) return reject("invalid_value", "market orders cannot be post-only");
    if (c.protectionPrice !== undefined) {
      const p = checkPrice(r, c.protectionPrice, "protectionPrice");
      if (p) return p;
    }
  }
  if (c.tif === "GTD") {
    if (c.expireAt === undefined) return reject("missing_field", "GTD orders need expireAt");
    if (c.expireAt <= now) return reject("expire_in_past", `expireAt ${c.expireAt} is not after log time ${now}`);
  } else if (c.expireAt !== undefined) {
    return reject("invalid_value", "expireAt applies to GTD orders only");
  }
  if (c.postOnly && (c.tif === "IOC" || c.tif === "FOK"))
    return reject("invalid_value", "post-only orders cannot be IOC or FOK");
  return null;
}

/** The worst price a market order may trade at: its protection price or the band edge. */
export function marketLimit(r: MarketRules, c: PlaceCommand): number {
  if (c.protectionPrice !== undefined) return c.protectionPrice;
  return c.side === "buy" ? r.bandHigh : r.bandLow;
}
