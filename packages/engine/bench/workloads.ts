/**
 * Seeded workload generators for `bench match`.
 *
 * A workload is a neutral list of operations (struct of typed arrays, no engine
 * objects) that each driver turns into its own command objects before timing.
 * The generator runs a naive price-time order book (the model) alongside, so
 * cancels always name an order that is still resting, sweeps are sized from the
 * real depth, and the model's trade count is the oracle both engines are checked
 * against. Everything derives from the seed: no Math.random, no clock.
 */

import type { Histogram } from "hdr-histogram-js";

export const WORKLOAD_NAMES = ["mixed", "deep", "many-markets", "crossing"] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export function isWorkloadName(s: string): s is WorkloadName {
  return (WORKLOAD_NAMES as readonly string[]).includes(s);
}

/** Every market of every workload uses these rules (see the `market` command). */
export const marketRules = {
  tickSize: 1,
  lotSize: 1,
  minQty: 1,
  maxQty: 1_000_000,
  refPrice: 10_000,
  /** 50%: the band is [5_000, 15_000], wider than any price generated here. */
  bandBps: 5_000,
} as const;
const bandLow = marketRules.refPrice - marketRules.refPrice * (marketRules.bandBps / 10_000);
const bandHigh = marketRules.refPrice + marketRules.refPrice * (marketRules.bandBps / 10_000);
const mid = marketRules.refPrice;

export const accountsCount = 100;
export const seedDefault = 0x5eed_b0b5;

export const OP_LIMIT = 0;
export const OP_MARKET = 1;
export const OP_CANCEL = 2;
export const SIDE_BUY = 0;
export const SIDE_SELL = 1;
export const TIF_GTC = 0;
export const TIF_IOC = 1;

/**
 * Operations as parallel arrays, indexed by op number. An accepted order's
 * identity is the op number of its place; a cancel names it in `target`.
 * Ops [0, setup) build the starting book and are applied untimed.
 */
export interface OpList {
  readonly name: WorkloadName;
  readonly seed: number;
  readonly markets: number;
  readonly setup: number;
  readonly length: number;
  readonly kind: Uint8Array;
  readonly market: Uint16Array;
  readonly side: Uint8Array;
  readonly tif: Uint8Array;
  /** Limit price; 0 for market orders and cancels. */
  readonly price: Int32Array;
  /** Order quantity; 0 for cancels. */
  readonly qty: Int32Array;
  readonly account: Uint8Array;
  /** For a cancel, the op number of the order it cancels; -1 otherwise. */
  readonly target: Int32Array;
  /** What the model matched during the timed ops [setup, length). */
  readonly expected: ModelTally;
  /** Orders resting in the model after the last op. */
  readonly restingAtEnd: number;
}

export interface ModelTally {
  trades: number;
  tradedQty: number;
  /** Cancels of orders that were resting (every cancel generated here). */
  cancels: number;
}

export function marketSymbol(i: number): string {
  return `M${String(i).padStart(4, "0")}`;
}

export function accountName(i: number): string {
  return `a${i}`;
}

/** Builds the op list of one workload: `ops` timed operations after its setup. */
export function generate(name: WorkloadName, ops: number, seed = seedDefault): OpList {
  switch (name) {
    case "mixed":
      return generateMixed(name, ops, 1, seed, mixedShape);
    case "many-markets":
      return generateMixed(name, ops, 1_000, seed, mixedShape);
    case "crossing":
      return generateMixed(name, ops, 1, seed, crossingShape);
    case "deep":
      return generateDeep(ops, seed);
  }
}

// ---------------------------------------------------------------------------
// PRNG

/** mulberry32: 32-bit state, good enough to spread synthetic orders, and fast. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }
}

// ---------------------------------------------------------------------------
// The op list under construction, with the model book it is checked against.

class Builder {
  readonly kind: Uint8Array;
  readonly market: Uint16Array;
  readonly side: Uint8Array;
  readonly tif: Uint8Array;
  readonly price: Int32Array;
  readonly qty: Int32Array;
  readonly account: Uint8Array;
  readonly target: Int32Array;
  /** Open quantity of each resting order, by op number; 0 when not resting. */
  readonly remaining: Int32Array;
  /** Resting orders in no particular order, for picking cancel targets. */
  private readonly live: number[] = [];
  private readonly livePos: Int32Array;
  readonly books: ModelBook[];
  readonly tally: ModelTally = { trades: 0, tradedQty: 0, cancels: 0 };
  length = 0;

  constructor(
    readonly capacity: number,
    readonly markets: number,
  ) {
    this.kind = new Uint8Array(capacity);
    this.market = new Uint16Array(capacity);
    this.side = new Uint8Array(capacity);
    this.tif = new Uint8Array(capacity);
    this.price = new Int32Array(capacity);
    this.qty = new Int32Array(capacity);
    this.account = new Uint8Array(capacity);
    this.target = new Int32Array(capacity).fill(-1);
    this.remaining = new Int32Array(capacity);
    this.livePos = new Int32Array(capacity).fill(-1);
    this.books = Array.from({ length: markets }, () => new ModelBook());
  }

  get resting(): number {
    return this.live.length;
  }

  /** Appends a limit or market order and matches it in the model. */
  place(m: number, side: number, kind: number, price: number, qty: number, tif: number, account: number): void {
    const i = this.length++;
    check(i < this.capacity, "op list overflow");
    check(qty >= marketRules.minQty && qty <= marketRules.maxQty, `qty ${qty} outside the market's limits`);
    check(kind === OP_MARKET || (price >= bandLow && price <= bandHigh), `price ${price} outside the band`);
    this.kind[i] = kind;
    this.market[i] = m;
    this.side[i] = side;
    this.tif[i] = kind === OP_MARKET ? TIF_IOC : tif;
    this.price[i] = kind === OP_MARKET ? 0 : price;
    this.qty[i] = qty;
    this.account[i] = account;
    const book = this.books[m]!;
    const opposite = side === SIDE_BUY ? book.asks : book.bids;
    // A market order may trade anywhere inside the band (Bourse's default protection).
    const limit = kind === OP_MARKET ? (side === SIDE_BUY ? bandHigh : bandLow) : price;
    const left = this.take(opposite, side === SIDE_BUY, limit, qty);
    if (left > 0 && kind === OP_LIMIT && tif === TIF_GTC) this.rest(i, book, left);
  }

  /** Appends a cancel of a random resting order; false when nothing rests. */
  cancelRandom(rng: Rng): boolean {
    if (this.live.length === 0) return false;
    const j = this.live[rng.below(this.live.length)]!;
    const i = this.length++;
    check(i < this.capacity, "op list overflow");
    this.kind[i] = OP_CANCEL;
    this.market[i] = this.market[j]!;
    this.side[i] = this.side[j]!;
    this.account[i] = this.account[j]!;
    this.target[i] = j;
    const book = this.books[this.market[j]!]!;
    const own = this.side[j] === SIDE_BUY ? book.bids : book.asks;
    own.reduce(this.price[j]!, this.remaining[j]!, true);
    this.remaining[j] = 0;
    this.unlive(j);
    this.tally.cancels++;
    return true;
  }

  resetTally(): void {
    this.tally.trades = 0;
    this.tally.tradedQty = 0;
    this.tally.cancels = 0;
  }

  finish(name: WorkloadName, seed: number, setup: number): OpList {
    check(this.length === this.capacity, "op list not filled");
    return {
      name,
      seed,
      markets: this.markets,
      setup,
      length: this.length,
      kind: this.kind,
      market: this.market,
      side: this.side,
      tif: this.tif,
      price: this.price,
      qty: this.qty,
      account: this.account,
      target: this.target,
      expected: { ...this.tally },
      restingAtEnd: this.live.length,
    };
  }

  private rest(i: number, book: ModelBook, qty: number): void {
    const own = this.side[i] === SIDE_BUY ? book.bids : book.asks;
    own.add(this.price[i]!, i, qty);
    this.remaining[i] = qty;
    this.livePos[i] = this.live.length;
    this.live.push(i);
  }

  private unlive(j: number): void {
    const pos = this.livePos[j]!;
    check(pos >= 0, "order is not live");
    const last = this.live.pop()!;
    if (last !== j) {
      this.live[pos] = last;
      this.livePos[last] = pos;
    }
    this.livePos[j] = -1;
  }

  /** Price-time matching against one side; returns the quantity left. */
  private take(side: ModelSide, buying: boolean, limit: number, qty: number): number {
    while (qty > 0 && side.best !== 0 && (buying ? side.best <= limit : side.best >= limit)) {
      const level = side.levels.get(side.best)!;
      while (qty > 0 && level.head < level.orders.length) {
        const maker = level.orders[level.head]!;
        const open = this.remaining[maker]!;
        if (open === 0) {
          level.head++; // cancelled earlier
          continue;
        }
        const fill = Math.min(open, qty);
        qty -= fill;
        this.remaining[maker] = open - fill;
        this.tally.trades++;
        this.tally.tradedQty += fill;
        side.reduce(side.best, fill, open === fill);
        if (open === fill) {
          level.head++;
          this.unlive(maker);
        }
        if (level.qty === 0) break; // reduce() removed the level and moved best
      }
    }
    return qty;
  }
}

class ModelLevel {
  readonly orders: number[] = [];
  head = 0;
  qty = 0;
}

class ModelSide {
  readonly levels = new Map<number, ModelLevel>();
  /** Best price, 0 when the side is empty. */
  best = 0;
  /** Resting orders on this side. */
  orders = 0;
  constructor(readonly buy: boolean) {}

  add(price: number, order: number, qty: number): void {
    let level = this.levels.get(price);
    if (level === undefined) {
      level = new ModelLevel();
      this.levels.set(price, level);
      if (this.best === 0 || (this.buy ? price > this.best : price < this.best)) this.best = price;
    }
    level.orders.push(order);
    level.qty += qty;
    this.orders++;
  }

  /** Removes `qty` from the level at `price` (a fill or a cancel); `leaves` when that order is done. */
  reduce(price: number, qty: number, leaves: boolean): void {
    const level = this.levels.get(price)!;
    level.qty -= qty;
    if (leaves) this.orders--;
    check(level.qty >= 0, "level quantity went negative");
    if (level.qty > 0) return;
    this.levels.delete(price);
    if (price === this.best) this.best = this.next(price);
  }

  /** The next non-empty level after `from`, 0 when the side is empty. */
  private next(from: number): number {
    if (this.levels.size === 0) return 0;
    const step = this.buy ? -1 : 1;
    for (let p = from + step; p >= bandLow && p <= bandHigh; p += step) if (this.levels.has(p)) return p;
    check(false, "levels exist beyond the band");
    return 0;
  }

  /** Prices of the first `n` non-empty levels from the best, and their total quantity. */
  depth(n: number): { worst: number; qty: number } {
    let found = 0;
    let qty = 0;
    let worst = 0;
    const step = this.buy ? -1 : 1;
    for (let p = this.best; this.best !== 0 && found < n && p >= bandLow && p <= bandHigh; p += step) {
      const level = this.levels.get(p);
      if (level === undefined) continue;
      found++;
      qty += level.qty;
      worst = p;
    }
    return { worst, qty };
  }
}

class ModelBook {
  readonly bids = new ModelSide(true);
  readonly asks = new ModelSide(false);
}

function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`workload generator: ${what}`);
}

// ---------------------------------------------------------------------------
// mixed and many-markets: 70% limit orders quoted around the mid (1..40 ticks away,
// on their own side, as market makers quote), 20% cancels of resting orders, 10%
// market orders. Only market orders take liquidity, so the book deepens as a real
// one does between sweeps (~130,000 resting orders after 1M ops, many per level).
//
// crossing: the same mix, but limit prices reach 10 ticks across the mid, so about
// a third of limit orders trade on arrival and the book stays small (~2,000 orders).
export const mixedShape = {
  limitShare: 0.7,
  cancelShare: 0.2,
  /** Buys are priced in [mid - 40, mid - 1], sells in [mid + 1, mid + 40]. */
  passiveTicks: 40,
  crossingTicks: -1,
  limitQtyMax: 20,
  iocShare: 0.1,
  marketQtyMax: 60,
} as const;

export const crossingShape = { ...mixedShape, crossingTicks: 10 } as const;

type MixedShape = { readonly [K in keyof typeof mixedShape]: number };

function generateMixed(name: WorkloadName, ops: number, markets: number, seed: number, s: MixedShape): OpList {
  const rng = new Rng(seed);
  const b = new Builder(ops, markets);
  while (b.length < ops) {
    const m = markets === 1 ? 0 : rng.below(markets);
    const r = rng.next();
    if (r >= s.limitShare && r < s.limitShare + s.cancelShare && b.cancelRandom(rng)) continue;
    const side = rng.below(2);
    const account = rng.below(accountsCount);
    if (r >= s.limitShare + s.cancelShare) {
      b.place(m, side, OP_MARKET, 0, rng.between(1, s.marketQtyMax), TIF_IOC, account);
      continue;
    }
    const offset = rng.between(-s.crossingTicks, s.passiveTicks);
    const price = side === SIDE_BUY ? mid - offset : mid + offset;
    const tif = rng.next() < s.iocShare ? TIF_IOC : TIF_GTC;
    b.place(m, side, OP_LIMIT, price, rng.between(1, s.limitQtyMax), tif, account);
  }
  return b.finish(name, seed, 0);
}

// ---------------------------------------------------------------------------
// deep: a 50k-order book over 5k levels, then sweeps that take many levels each,
// cancels, and passive orders that replenish what they took.
//
// Both sides stay anchored at the mid: bids in [mid - 2_500, mid - 1], asks in
// [mid + 1, mid + 2_500], so passive orders never cross and every trade comes
// from a sweep. Most replenishing orders refill the front levels, where sweeps
// bite; a few go anywhere on their side, to make up for cancels deep in the book.

export const deepShape = {
  /** Setup: levels per side and orders per level, starting one tick off the mid. */
  levelsPerSide: 2_500,
  ordersPerLevel: 10,
  orderQtyMax: 20,
  /** A sweep takes this many non-empty levels of the opposite side. */
  sweepLevelsMin: 10,
  sweepLevelsMax: 50,
  /**
   * Chance of a sweep while the book holds its starting order count; it scales
   * with the count, so the book neither drains nor piles up.
   */
  sweepShare: 0.003,
  cancelShare: 0.05,
  /** Front levels per side that most replenishing orders go to. */
  frontLevels: 50,
  /** Share of replenishing orders placed anywhere on their side instead. */
  anywhereShare: 0.06,
} as const;

function generateDeep(ops: number, seed: number): OpList {
  const s = deepShape;
  const rng = new Rng(seed);
  const setup = 2 * s.levelsPerSide * s.ordersPerLevel;
  const b = new Builder(setup + ops, 1);
  const book = b.books[0]!;
  for (let l = 1; l <= s.levelsPerSide; l++) {
    for (let k = 0; k < s.ordersPerLevel; k++) {
      b.place(0, SIDE_BUY, OP_LIMIT, mid - l, rng.between(1, s.orderQtyMax), TIF_GTC, rng.below(accountsCount));
      b.place(0, SIDE_SELL, OP_LIMIT, mid + l, rng.between(1, s.orderQtyMax), TIF_GTC, rng.below(accountsCount));
    }
  }
  b.resetTally();
  while (b.length < setup + ops) {
    const r = rng.next();
    const sweepShare = s.sweepShare * (b.resting / setup);
    if (r < sweepShare && sweep(b, book, rng)) continue;
    if (r >= sweepShare && r < sweepShare + s.cancelShare && b.cancelRandom(rng)) continue;
    replenish(b, book, rng);
  }
  return b.finish("deep", seed, setup);
}

/** A buy or sell that takes a random number of levels, as a market or a limit order. */
function sweep(b: Builder, book: ModelBook, rng: Rng): boolean {
  const s = deepShape;
  const side = rng.below(2);
  const opposite = side === SIDE_BUY ? book.asks : book.bids;
  const { worst, qty } = opposite.depth(rng.between(s.sweepLevelsMin, s.sweepLevelsMax));
  if (qty === 0) return false;
  const size = Math.min(qty, marketRules.maxQty);
  const account = rng.below(accountsCount);
  if (rng.below(2) === 0) b.place(0, side, OP_MARKET, 0, size, TIF_IOC, account);
  else b.place(0, side, OP_LIMIT, worst, size, TIF_GTC, account);
  return true;
}

/** A passive order on the side with fewer orders, mostly at the front. */
function replenish(b: Builder, book: ModelBook, rng: Rng): void {
  const s = deepShape;
  const bids = book.bids.orders;
  const asks = book.asks.orders;
  const side = bids === asks ? rng.below(2) : bids < asks ? SIDE_BUY : SIDE_SELL;
  const reach = rng.next() < s.anywhereShare ? s.levelsPerSide : s.frontLevels;
  const offset = rng.between(1, reach);
  const price = side === SIDE_BUY ? mid - offset : mid + offset;
  b.place(0, side, OP_LIMIT, price, rng.between(1, s.orderQtyMax), TIF_GTC, rng.below(accountsCount));
}

// ---------------------------------------------------------------------------
// What a driver does with an op list. Both drivers build their command objects
// from the list once, before anything is timed, and count what their engine did
// so a round can be checked against the model.

export type EngineName = "ours" | "peer";

export interface Tally {
  trades: number;
  tradedQty: number;
  /** Commands the engine refused or ignored; the model expects none. */
  rejects: number;
  /** The first refusal, to diagnose a driver that speaks the engine's API wrongly. */
  firstReject: string;
}

export function newTally(): Tally {
  return { trades: 0, tradedQty: 0, rejects: 0, firstReject: "" };
}

export interface Driver {
  readonly name: EngineName;
  /** A fresh engine with the markets created and the setup ops applied; not timed. */
  open(): Session;
}

export interface Session {
  /** Applies the timed ops [setup, length) in one tight loop. */
  run(tally: Tally): void;
  /** The same ops, each one timed alone into `histogram` (nanoseconds). */
  runTimed(tally: Tally, histogram: Histogram): void;
}
