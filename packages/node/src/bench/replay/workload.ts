/**
 * The commands the replay bench writes to one partition's log: a seeded mix
 * modelled on the matching bench's `mixed` workload (packages/engine/bench),
 * spread over several markets of the partition and many accounts, with
 * UUID cmdIds as BourseClient sends them.
 *
 *   70% limit orders quoted on their own side of the mid (buys mid-40..mid-1,
 *       sells mid+1..mid+40; qty 1..20; 90% GTC, 10% IOC);
 *   20% cancels of an order that is resting at that point of the log;
 *   10% market orders (IOC, qty 1..60), the only orders that take liquidity.
 *
 * So the books deepen between sweeps as real ones do. Cancels name live
 * orders: the generator keeps a pool of GTC order ids and asks the engine that
 * is filled alongside (the log's own state) whether a picked one still rests.
 */
import type { Command, MarketSpec, PartitionEngine } from "@bourse/engine";
import { partitionOf } from "../../partitioning.js";
import { Rng } from "../common/rng.js";

export const MID_PRICE = 10_000;
const QUOTE_SPREAD_MAX = 40;
const LIMIT_QTY_MAX = 20;
const MARKET_QTY_MAX = 60;
/** Tries at finding a still-resting order before a cancel turns into a place. */
const CANCEL_PICKS_MAX = 8;

export const marketRules: Omit<MarketSpec, "symbol"> = {
  tickSize: 1,
  lotSize: 1,
  minQty: 1,
  maxQty: 1_000_000,
  refPrice: MID_PRICE,
  bandBps: 5_000,
  state: "open",
};

export interface MixedWorkloadOptions {
  seed: number;
  partitions: number;
  /** The partition every market hashes to. */
  partition: number;
  markets: number;
  accounts: number;
}

/** The account names of the workloads: `acct-0000` … */
export function accountName(i: number): string {
  return `acct-${String(i).padStart(4, "0")}`;
}

/** The first `n` symbols SKU-<k> that hash to `partition` (the partition function of docs/protocol.md). */
export function symbolsOfPartition(n: number, partition: number, partitions: number): string[] {
  const out: string[] = [];
  for (let k = 1; out.length < n; k++) {
    const s = `SKU-${k}`;
    if (partitionOf(s, partitions) === partition) out.push(s);
  }
  return out;
}

export interface Counts {
  limits: number;
  markets: number;
  cancels: number;
}

export class MixedWorkload {
  readonly symbols: string[];
  readonly accounts: string[];
  readonly counts: Counts = { limits: 0, markets: 0, cancels: 0 };
  private readonly rng: Rng;
  /** GTC limit orders that may still rest: ids and market indexes (stale entries leave when picked). */
  private poolIds: number[] = [];
  private poolMarkets: number[] = [];

  constructor(private readonly o: MixedWorkloadOptions) {
    this.rng = new Rng(o.seed);
    this.symbols = symbolsOfPartition(o.markets, o.partition, o.partitions);
    this.accounts = Array.from({ length: o.accounts }, (_, i) => accountName(i));
  }

  /** The `market` commands that open the books: the first entries of the log. */
  setup(): Command[] {
    return this.symbols.map((symbol) => ({ kind: "market", cmdId: this.rng.uuid(), account: "admin", symbol, ...marketRules }));
  }

  /**
   * The next command. `engine` holds the log so far (it tells which pooled orders
   * still rest); `inSeq` is the sequence the command will get, so its order id.
   */
  next(engine: PartitionEngine, inSeq: number): Command {
    const r = this.rng.next();
    if (r < 0.2) {
      const c = this.cancel(engine);
      if (c) return c;
    }
    const m = this.rng.int(this.symbols.length);
    const market = this.symbols[m]!;
    const account = this.accounts[this.rng.int(this.accounts.length)]!;
    const buy = this.rng.next() < 0.5;
    const cmdId = this.rng.uuid();
    if (r >= 0.9) {
      this.counts.markets++;
      return { kind: "place", cmdId, account, market, side: buy ? "buy" : "sell", type: "market", qty: this.rng.range(1, MARKET_QTY_MAX), tif: "IOC" };
    }
    const offset = this.rng.range(1, QUOTE_SPREAD_MAX);
    const price = buy ? MID_PRICE - offset : MID_PRICE + offset;
    const gtc = this.rng.next() < 0.9;
    if (gtc) {
      this.poolIds.push(inSeq);
      this.poolMarkets.push(m);
    }
    this.counts.limits++;
    return { kind: "place", cmdId, account, market, side: buy ? "buy" : "sell", type: "limit", price, qty: this.rng.range(1, LIMIT_QTY_MAX), tif: gtc ? "GTC" : "IOC" };
  }

  /** Orders in the pool (resting or not yet found to be gone). */
  get pooled(): number {
    return this.poolIds.length;
  }

  private cancel(engine: PartitionEngine): Command | undefined {
    for (let tries = 0; tries < CANCEL_PICKS_MAX && this.poolIds.length > 0; tries++) {
      const i = this.rng.int(this.poolIds.length);
      const id = this.poolIds[i]!;
      const market = this.symbols[this.poolMarkets[i]!]!;
      this.removeFromPool(i);
      const view = engine.query(market, id);
      if (view === undefined || (view.status !== "open" && view.status !== "partially_filled")) continue;
      this.counts.cancels++;
      return { kind: "cancel", cmdId: this.rng.uuid(), account: view.account, market, orderId: id };
    }
    return undefined;
  }

  private removeFromPool(i: number): void {
    const last = this.poolIds.length - 1;
    this.poolIds[i] = this.poolIds[last]!;
    this.poolMarkets[i] = this.poolMarkets[last]!;
    this.poolIds.pop();
    this.poolMarkets.pop();
  }
}
