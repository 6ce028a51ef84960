import type { JetStreamClient } from "@nats-io/jetstream";
import { encodeCommand, type AnyCommand } from "@bourse/engine";
import { partitionOf } from "../../src/partitioning.js";
import { subjects } from "../../src/protocol.js";

/** A seeded PRNG (mulberry32) so a failing run can be replayed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Publishes commands with a window of acknowledged publishes in flight, retrying
 * a failed publish with the same Nats-Msg-Id; records what the stream acknowledged.
 */
export class Publisher {
  readonly acked = new Set<string>();
  failures = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly partitions: number,
    private readonly windowMax = 64,
  ) {}

  async send(cmd: AnyCommand, market: string, raw?: Uint8Array): Promise<void> {
    const subject = subjects.in(partitionOf(market, this.partitions), market, cmd.account);
    const data = raw ?? encodeCommand(cmd);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.js.publish(subject, data, { msgID: cmd.cmdId, timeout: 2_000 });
        this.acked.add(cmd.cmdId);
        return;
      } catch (e) {
        this.failures++;
        if (attempt >= 10) throw e;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  /** Sends all, at most `windowMax` in flight. */
  async sendAll(items: { cmd: AnyCommand; market: string }[], onProgress?: (n: number) => void): Promise<void> {
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < items.length) {
        const it = items[next++]!;
        await this.send(it.cmd, it.market);
        onProgress?.(++done);
      }
    };
    await Promise.all(Array.from({ length: this.windowMax }, worker));
  }
}

export const MARKET_SPEC = { tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1_000, refPrice: 1_000, bandBps: 2_000, state: "open" } as const;

/** Market definitions followed by `n` random orders, cancels and amends over `markets`. */
export function workload(seed: number, markets: string[], n: number, prefix = "c"): { cmd: AnyCommand; market: string }[] {
  const r = rng(seed);
  const out: { cmd: AnyCommand; market: string }[] = [];
  for (const m of markets) out.push({ cmd: { kind: "market", cmdId: `${prefix}-mk-${m}`, account: "admin", symbol: m, ...MARKET_SPEC }, market: m });
  for (let i = 0; i < n; i++) {
    const market = markets[Math.floor(r() * markets.length)]!;
    const account = `a${Math.floor(r() * 5)}`;
    const cmdId = `${prefix}-${seed}-${i}`;
    const x = r();
    if (x < 0.75) {
      const side = r() < 0.5 ? "buy" : "sell";
      const price = 1_000 + Math.floor(r() * 21) - 10;
      const market_ = r() < 0.08;
      out.push({
        market,
        cmd: market_
          ? { kind: "place", cmdId, account, market, side, type: "market", qty: 1 + Math.floor(r() * 10), tif: "IOC" }
          : { kind: "place", cmdId, account, market, side, type: "limit", price, qty: 1 + Math.floor(r() * 10), tif: r() < 0.1 ? "IOC" : "GTC" },
      });
    } else {
      // Refer to an order id that may or may not exist: the engine answers either way.
      const orderId = 1 + Math.floor(r() * Math.max(1, i));
      out.push({
        market,
        cmd: x < 0.9 ? { kind: "cancel", cmdId, account, market, orderId } : { kind: "amend", cmdId, account, market, orderId, qty: 1 },
      });
    }
  }
  return out;
}
