import { PartitionEngine, type PartitionEngineOptions } from "../../src/index.js";
import type { Command, EngineEvent, PlaceCommand } from "../../src/types.js";
import { marketCmd } from "./commands.js";

/** A partition engine with one open market "M" (tick 1, lot 1, ref 100, band ±50%), and terse helpers. */
export class Harness {
  readonly engine: PartitionEngine;
  inSeq = 0;
  ts = 1_000;
  private n = 0;

  constructor(opts: Partial<PartitionEngineOptions> = {}) {
    this.engine = new PartitionEngine({ partition: 0, ...opts });
    this.send(marketCmd("M", "m-M", { tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1000, refPrice: 100, bandBps: 5000 }));
  }

  send(cmd: Command, ts = this.ts): EngineEvent[] {
    this.ts = Math.max(this.ts, ts);
    return this.engine.apply(cmd, ++this.inSeq, ts);
  }

  /** Places a limit order; returns its events. The order id is the returned `id`. */
  place(account: string, side: "buy" | "sell", price: number | undefined, qty: number, extra: Partial<PlaceCommand> = {}) {
    const cmd = {
      kind: "place", cmdId: `p${++this.n}`, account, market: "M", side, type: price === undefined ? "market" : "limit",
      qty, tif: price === undefined ? "IOC" : "GTC", ...(price !== undefined ? { price } : {}), ...extra,
    } as PlaceCommand;
    const events = this.send(cmd);
    return { id: this.inSeq, events, types: events.filter((e) => e.type !== "l2").map((e) => e.type) };
  }

  cancel(account: string, orderId: number) {
    return this.send({ kind: "cancel", cmdId: `x${++this.n}`, account, market: "M", orderId });
  }

  amend(account: string, orderId: number, change: { price?: number; qty?: number }) {
    return this.send({ kind: "amend", cmdId: `a${++this.n}`, account, market: "M", orderId, ...change });
  }

  trades(events: EngineEvent[]) {
    return events.flatMap((e) => (e.type === "trade" ? [{ maker: e.maker, taker: e.taker, price: e.price, qty: e.qty }] : []));
  }
}
