/**
 * The simulation's seeded command mix. Each publisher draws from its own
 * stream of the seed, so the commands a publisher sends depend only on the seed
 * and on which of its earlier orders the stream acknowledged (cancels and amends
 * name those by orderId, which is the order's BOURSE_IN sequence).
 */
import type { AnyCommand, Side } from "@bourse/engine";
import { substream, type Rng } from "./rng.js";

export const MARKET_SPEC = { tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1_000, refPrice: 1_000, bandBps: 2_000, state: "open" } as const;
export const ADMIN_ACCOUNT = "admin";

export function marketNames(k: number): string[] {
  return Array.from({ length: k }, (_, i) => `SIM${String(i).padStart(2, "0")}`);
}

export function marketDefinitions(markets: readonly string[]): AnyCommand[] {
  return markets.map((symbol) => ({ kind: "market", cmdId: `sim-mk-${symbol}`, account: ADMIN_ACCOUNT, symbol, ...MARKET_SPEC }));
}

/** Probabilities of each command kind; the rest are limit/market placements. */
export const MIX = { cancel: 0.15, amend: 0.05, resend: 0.03, marketOrder: 0.06, ioc: 0.08 } as const;
const LIVE_ORDERS_KEPT = 200;
const ACCOUNTS_PER_PUBLISHER = 3;

export interface Draft {
  cmd: AnyCommand;
  market: string;
  /** A repeat of an earlier acknowledged command under a new message id (a client retry after the dedupe window). */
  resend: boolean;
}

export class Workload {
  private readonly r: Rng;
  private n = 0;
  /** Recently acknowledged orders of this publisher: candidates for cancels and amends. */
  private readonly live: { orderId: number; market: string; account: string }[] = [];
  private readonly sent: Draft[] = [];

  constructor(
    seed: number,
    readonly publisher: number,
    private readonly markets: readonly string[],
  ) {
    this.r = substream(seed, `publisher-${publisher}`);
  }

  next(): Draft {
    const r = this.r;
    const x = r();
    if (x < MIX.resend && this.sent.length > 0) {
      const d = this.sent[Math.floor(r() * this.sent.length)]!;
      return { ...d, resend: true };
    }
    const cmdId = `sim-${this.publisher}-${this.n++}`;
    if (x < MIX.resend + MIX.cancel + MIX.amend && this.live.length > 0) {
      const o = this.live[Math.floor(r() * this.live.length)]!;
      const cmd: AnyCommand = x < MIX.resend + MIX.cancel
        ? { kind: "cancel", cmdId, account: o.account, market: o.market, orderId: o.orderId }
        : { kind: "amend", cmdId, account: o.account, market: o.market, orderId: o.orderId, qty: 1 + Math.floor(r() * 3) };
      return this.remember({ cmd, market: o.market, resend: false });
    }
    const market = this.markets[Math.floor(r() * this.markets.length)]!;
    const account = `p${this.publisher}a${Math.floor(r() * ACCOUNTS_PER_PUBLISHER)}`;
    const side: Side = r() < 0.5 ? "buy" : "sell";
    const qty = 1 + Math.floor(r() * 10);
    const y = r();
    const cmd: AnyCommand = y < MIX.marketOrder
      ? { kind: "place", cmdId, account, market, side, type: "market", qty, tif: "IOC" }
      : { kind: "place", cmdId, account, market, side, type: "limit", price: 1_000 + Math.floor(r() * 21) - 10, qty, tif: y < MIX.marketOrder + MIX.ioc ? "IOC" : "GTC" };
    return this.remember({ cmd, market, resend: false });
  }

  /** The stream acknowledged a placement: its sequence is the order id. */
  acknowledged(d: Draft, streamSeq: number): void {
    if (d.resend || d.cmd.kind !== "place" || d.cmd.type !== "limit" || d.cmd.tif !== "GTC") return;
    this.live.push({ orderId: streamSeq, market: d.market, account: d.cmd.account });
    if (this.live.length > LIVE_ORDERS_KEPT) this.live.splice(0, this.live.length - LIVE_ORDERS_KEPT);
  }

  private remember(d: Draft): Draft {
    this.sent.push(d);
    if (this.sent.length > LIVE_ORDERS_KEPT) this.sent.shift();
    return d;
  }
}
