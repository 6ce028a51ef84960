/**
 * The orders of the memory bench, for one market, from one seed, with UUID
 * cmdIds as BourseClient sends them and accounts acct-0000…:
 *
 *   passive: a GTC limit that rests: bids 9,000..9,998 or asks 10,002..11,000
 *            (999 levels a side), qty 1..100;
 *   a fill:  a maker alone at the inside price (bid 9,999 or ask 10,001) and a
 *            taker from another account at that price for the same quantity:
 *            both orders end filled, the resting book is not touched;
 *   a cancel of a named resting order.
 *
 * The driver (engine-child.ts) decides the order of these and which resting
 * order a cancel names.
 */
import type { CancelCommand, MarketCommand, PlaceCommand } from "@bourse/engine";
import { partitionOf } from "../../partitioning.js";
import { Rng } from "../common/rng.js";
import { accountName, marketRules } from "../replay/workload.js";

export const MEMORY_MARKET = "SKU-MEM";
const BID_LOW = 9_000;
const BID_INSIDE = 9_999;
const ASK_INSIDE = 10_001;
const LEVELS = 999;
const QTY_MAX = 100;

export function memoryPartition(partitions: number): number {
  return partitionOf(MEMORY_MARKET, partitions);
}

export class MemoryWorkload {
  readonly accounts: string[];
  /** Index in `accounts` of the account of the last passive order. */
  lastAccount = 0;
  private readonly rng: Rng;

  constructor(seed: number, accounts: number) {
    this.rng = new Rng(seed);
    this.accounts = Array.from({ length: accounts }, (_, i) => accountName(i));
  }

  /** A coin for the driver, from the same seed. */
  chance(p: number): boolean {
    return this.rng.next() < p;
  }

  /** An index in [0, n), from the same seed. */
  pick(n: number): number {
    return this.rng.int(n);
  }

  market(): MarketCommand {
    return { kind: "market", cmdId: this.rng.uuid(), account: "admin", symbol: MEMORY_MARKET, ...marketRules };
  }

  passive(): PlaceCommand {
    const buy = this.rng.next() < 0.5;
    const level = this.rng.int(LEVELS);
    const price = buy ? BID_LOW + level : ASK_INSIDE + 1 + level;
    return this.place(this.account(), buy, price, this.rng.range(1, QTY_MAX), "GTC");
  }

  /** A maker at the inside and the taker that fills it exactly, from two different accounts. */
  fill(): [maker: PlaceCommand, taker: PlaceCommand] {
    const makerBuys = this.rng.next() < 0.5;
    const price = makerBuys ? BID_INSIDE : ASK_INSIDE;
    const qty = this.rng.range(1, QTY_MAX);
    const a = this.rng.int(this.accounts.length);
    const b = (a + 1 + this.rng.int(this.accounts.length - 1)) % this.accounts.length;
    return [this.place(this.accounts[a]!, makerBuys, price, qty, "GTC"), this.place(this.accounts[b]!, !makerBuys, price, qty, "IOC")];
  }

  cancel(orderId: number, account: string): CancelCommand {
    return { kind: "cancel", cmdId: this.rng.uuid(), account, market: MEMORY_MARKET, orderId };
  }

  private account(): string {
    this.lastAccount = this.rng.int(this.accounts.length);
    return this.accounts[this.lastAccount]!;
  }

  private place(account: string, buy: boolean, price: number, qty: number, tif: "GTC" | "IOC"): PlaceCommand {
    return { kind: "place", cmdId: this.rng.uuid(), account, market: MEMORY_MARKET, side: buy ? "buy" : "sell", type: "limit", price, qty, tif };
  }
}
