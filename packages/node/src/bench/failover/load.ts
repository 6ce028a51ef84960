/**
 * The resident state the trials fail over: markets spread over every partition
 * (defined by the admin account first), then N resting limit orders over all of
 * them that never cross (buys below the reference price, sells above), published
 * as fast as JetStream acknowledges them with a window of publishes in flight.
 * Done once every partition's durable output covers its log; the resting orders
 * are then counted from the books themselves (depth queries).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { encodeCommand, encodeValue, type Command } from "@bourse/engine";
import { decodeDepthReply } from "../../client/wire.js";
import { partitionOf } from "../../partitioning.js";
import { subjects } from "../../protocol.js";
import type { BenchCluster } from "./bench-cluster.js";
import { FAILOVER_METHOD as M } from "./options.js";

export const ADMIN_ACCOUNT = "admin";

export const MARKET_SPEC = {
  tickSize: 1,
  lotSize: 1,
  minQty: 1,
  maxQty: 1_000,
  refPrice: M.refPrice,
  bandBps: 2_000,
  state: "open",
} as const;

export interface LoadResult {
  /** Market symbols per partition (every partition has marketsPerPartition). */
  marketsByPartition: string[][];
  markets: number;
  ordersSent: number;
  /** Resting orders counted from the books after the load. */
  ordersResident: number;
  loadMs: number;
  publishesPerS: number;
}

/** `marketsPerPartition` symbols for each partition: FO-0, FO-1, … kept while their partition needs more. */
export function pickMarkets(partitions: number, perPartition: number): string[][] {
  const by: string[][] = Array.from({ length: partitions }, () => []);
  let filled = 0;
  for (let i = 0; filled < partitions; i++) {
    const m = `FO-${i}`;
    const list = by[partitionOf(m, partitions)]!;
    if (list.length >= perPartition) continue;
    list.push(m);
    if (list.length === perPartition) filled++;
  }
  return by;
}

/** The i-th loaded order: round robin over the markets; price and side from a fixed hash of i. */
export function loadOrder(i: number, markets: readonly string[]): Command {
  const market = markets[i % markets.length]!;
  const h = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  const buy = (h & 1) === 0;
  const offset = 1 + ((h >>> 1) % M.depthLevels);
  return {
    kind: "place",
    cmdId: `fo-load-${i}`,
    account: `fo-${i % M.accounts}`,
    market,
    side: buy ? "buy" : "sell",
    type: "limit",
    price: buy ? M.refPrice - offset : M.refPrice + offset,
    qty: 1 + ((h >>> 8) % 100),
    tif: "GTC",
  };
}

export async function loadOrders(c: BenchCluster, orders: number, progress: (s: string) => void): Promise<LoadResult> {
  const byPartition = pickMarkets(c.partitions, M.marketsPerPartition);
  const markets = byPartition.flat();
  const started = performance.now();
  const definitions: Command[] = markets.map((symbol) => ({ kind: "market", cmdId: `fo-market-${symbol}`, account: ADMIN_ACCOUNT, symbol, ...MARKET_SPEC }));
  await publishAll(c.js, c.partitions, definitions.length, (i) => definitions[i]!);
  progress(`${markets.length} markets defined; publishing ${orders} resting orders (window ${M.loadWindow})`);
  let lastReport = performance.now();
  await publishAll(c.js, c.partitions, orders, (i) => loadOrder(i, markets), (n) => {
    if (performance.now() - lastReport < 2_000) return;
    lastReport = performance.now();
    progress(`  ${n} / ${orders} acknowledged`);
  });
  const publishedMs = performance.now() - started;
  progress(`published in ${(publishedMs / 1000).toFixed(1)} s (${Math.round((orders + markets.length) / (publishedMs / 1000))} publishes/s); waiting for durable output`);
  const deadline = Date.now() + M.loadMsTimeout;
  for (;;) {
    const behind = await c.partitionsBehind();
    if (behind.length === 0) break;
    if (Date.now() > deadline) throw new Error(`the output of partitions ${behind.join(", ")} does not cover the log ${M.loadMsTimeout} ms after the load`);
    await sleep(250);
  }
  const loadMs = performance.now() - started;
  await c.waitBalanced(M.balanceMsTimeout);
  const ordersResident = await countResting(c.nc, c.partitions, markets);
  progress(`load durable after ${(loadMs / 1000).toFixed(1)} s; ${ordersResident} orders resting in the books`);
  return {
    marketsByPartition: byPartition,
    markets: markets.length,
    ordersSent: orders,
    ordersResident,
    loadMs: Math.round(loadMs),
    publishesPerS: Math.round((orders + markets.length) / (publishedMs / 1000)),
  };
}

/** Publishes commands 0..n-1 with at most loadWindow unacknowledged, retrying each with the same Nats-Msg-Id. */
async function publishAll(js: JetStreamClient, partitions: number, n: number, cmd: (i: number) => Command, onAcked?: (n: number) => void): Promise<void> {
  let next = 0;
  let acked = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const c = cmd(next++);
      const market = c.kind === "market" ? c.symbol : c.kind === "place" ? c.market : "_";
      const subject = subjects.in(partitionOf(market, partitions), market, c.account);
      const data = encodeCommand(c);
      for (let attempt = 1; ; attempt++) {
        try {
          await js.publish(subject, data, { msgID: c.cmdId, timeout: 5_000 });
          break;
        } catch (e) {
          if (attempt >= 10) throw e;
          await sleep(50 * attempt);
        }
      }
      onAcked?.(++acked);
    }
  };
  await Promise.all(Array.from({ length: Math.min(M.loadWindow, n) }, worker));
}

/** Resting orders over the markets' books: the order counts of every level (all levels fit in one depth query). */
export async function countResting(nc: NatsConnection, partitions: number, markets: readonly string[]): Promise<number> {
  let total = 0;
  const window = 32;
  for (let i = 0; i < markets.length; i += window) {
    const counts = await Promise.all(
      markets.slice(i, i + window).map(async (market) => {
        const req = encodeValue({ kind: "depth", market, levels: M.depthLevels });
        for (let attempt = 1; ; attempt++) {
          try {
            const reply = decodeDepthReply((await nc.request(subjects.query(partitionOf(market, partitions)), req, { timeout: 5_000 })).data);
            if (!reply.ok) throw new Error(`depth of ${market}: ${reply.code}: ${reply.message}`);
            return [...reply.value.bids, ...reply.value.asks].reduce((s, l) => s + l.orders, 0);
          } catch (e) {
            // Nobody serves the partition for a moment (a false suspicion moved it): ask again.
            if (attempt >= 20) throw e;
            await sleep(250);
          }
        }
      }),
    );
    total += counts.reduce((a, b) => a + b, 0);
  }
  return total;
}
