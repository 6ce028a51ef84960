/**
 * The commands the end-to-end benchmark sends: `place` commands shaped like a
 * real client's (a UUID-sized cmdId, default self-trade prevention), 60% passive
 * GTC limit orders a few ticks from the reference price on their own side, 40%
 * IOC limit orders that cross by 10 ticks and take what rests. Takers carry
 * slightly more quantity on average, so the books stay shallow however long a
 * run lasts and most commands trade.
 *
 * Every field is fixed-width, so every command encodes to the same size (±1 byte
 * for "buy"/"sell"), the size the raw JetStream phase publishes.
 */
import { encodeCommand, type AnyCommand, type MarketSpec, type PlaceCommand } from "@bourse/engine";
import { partitionOf } from "../../partitioning.js";
import { subjects } from "../../protocol.js";

export const ADMIN_ACCOUNT = "admin";
export const MARKET_SPEC: Omit<MarketSpec, "symbol"> = { tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1_000, refPrice: 1_000, bandBps: 2_000, state: "open" };
const PASSIVE_SHARE = 0.6;
const PASSIVE_TICKS_MAX = 10;
const CROSS_TICKS = 10;
const PASSIVE_QTY_MAX = 10;
const TAKER_QTY_MAX = 16;

export function marketNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `E2E-${String(i).padStart(4, "0")}`);
}

export function marketDefinition(symbol: string, tag: string): AnyCommand {
  return { kind: "market", cmdId: `${tag}-market-${symbol}`, account: ADMIN_ACCOUNT, symbol, ...MARKET_SPEC };
}

/** `<tag>-<publisher>-<n>`, 36 characters like a UUID; parseCmdId inverts it. */
export function cmdIdOf(tag: string, publisher: number, n: number): string {
  return `${tag}-${String(publisher).padStart(3, "0")}-${String(n).padStart(36 - tag.length - 5, "0")}`;
}

/** [publisher, n] of a cmdId made by cmdIdOf with `tag`, or undefined for anything else. */
export function parseCmdId(tag: string, cmdId: string): [number, number] | undefined {
  if (cmdId.length !== 36 || !cmdId.startsWith(tag)) return undefined;
  const p = tag.length + 1;
  const publisher = Number(cmdId.slice(p, p + 3));
  const n = Number(cmdId.slice(p + 4));
  return Number.isInteger(publisher) && Number.isInteger(n) ? [publisher, n] : undefined;
}

export interface Outgoing {
  /** The publisher's command number (cmdIdOf's n). */
  n: number;
  partition: number;
  subject: string;
  data: Uint8Array;
  cmdId: string;
}

/** One publisher's command stream (its own accounts, every market). Not seeded: the content does not matter, only its shape. */
export class PlaceWorkload {
  private n = 0;
  private readonly accounts: string[];
  private readonly subjectsByMarket: string[][];
  private readonly partitionByMarket: number[];

  constructor(
    private readonly tag: string,
    readonly publisher: number,
    private readonly markets: readonly string[],
    partitions: number,
    accounts: number,
  ) {
    this.accounts = Array.from({ length: accounts }, (_, k) => `acct-${String(publisher).padStart(3, "0")}-${String(k).padStart(3, "0")}`);
    this.partitionByMarket = markets.map((m) => partitionOf(m, partitions));
    this.subjectsByMarket = markets.map((m, i) => this.accounts.map((a) => subjects.in(this.partitionByMarket[i]!, m, a)));
  }

  /** Commands made so far; the next one is number `made`. */
  get made(): number {
    return this.n;
  }

  next(): Outgoing {
    const n = this.n++;
    const mi = Math.floor(Math.random() * this.markets.length);
    const ai = Math.floor(Math.random() * this.accounts.length);
    const cmd = placeCommand(cmdIdOf(this.tag, this.publisher, n), this.accounts[ai]!, this.markets[mi]!, Math.random(), Math.random());
    return { n, partition: this.partitionByMarket[mi]!, subject: this.subjectsByMarket[mi]![ai]!, data: encodeCommand(cmd), cmdId: cmd.cmdId };
  }
}

/** A place command: passive or taker by `u`, buy or sell by `v` (both in [0, 1)); price and quantity at random. */
export function placeCommand(cmdId: string, account: string, market: string, u: number, v: number): PlaceCommand {
  const ref = MARKET_SPEC.refPrice;
  const buy = v < 0.5;
  if (u < PASSIVE_SHARE) {
    const away = 1 + Math.floor(Math.random() * PASSIVE_TICKS_MAX);
    const qty = 1 + Math.floor(Math.random() * PASSIVE_QTY_MAX);
    return { kind: "place", cmdId, account, market, side: buy ? "buy" : "sell", type: "limit", price: buy ? ref - away : ref + away, qty, tif: "GTC" };
  }
  const qty = 1 + Math.floor(Math.random() * TAKER_QTY_MAX);
  return { kind: "place", cmdId, account, market, side: buy ? "buy" : "sell", type: "limit", price: buy ? ref + CROSS_TICKS : ref - CROSS_TICKS, qty, tif: "IOC" };
}

/** Encoded size of a representative command (a passive GTC buy): the payload the raw phase publishes. */
export function representativePayloadBytes(tag: string): number {
  return encodeCommand(placeCommand(cmdIdOf(tag, 0, 0), "acct-000-000", marketNames(1)[0]!, 0, 0)).length;
}
