/**
 * The demo traffic of `bourse dev`, sent as any publisher would:
 *
 *   1. markets: account "admin" defines SKU-1..SKU-n with fixed cmdIds
 *      (demo-market-SKU-1...), so a resumed run repeats them harmlessly (the
 *      stream drops the repeat within its duplicate window; later the engine
 *      answers it with a `duplicate`). The client has no market command, so
 *      these are published straight to BOURSE_IN, as the protocol allows.
 *   2. ready: every market answers a depth query, i.e. its partition is served
 *      and its definition applied.
 *   3. load: a few accounts place limit orders around the reference price
 *      (buy and sell ranges overlap, so some cross and trade) and cancel some
 *      of their open orders, at a fixed rate, through BourseClient.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamClient } from "@nats-io/jetstream";
import { encodeCommand, type EngineEvent, type MarketCommand, type MarketSpec, type Side } from "@bourse/engine";
import type { BourseClient } from "../client/bourse-client.js";
import { clientLimits } from "../client/limits.js";
import type { CommandReport } from "../client/outcomes.js";
import { publishCommand } from "../client/publish.js";
import { partitionOf } from "../partitioning.js";
import { subjects } from "../protocol.js";
import { DevError, throwIfStopped } from "./errors.js";
import { devLimits } from "./limits.js";

export const ADMIN_ACCOUNT = "admin";
export const DEMO_ACCOUNTS = ["demo-1", "demo-2", "demo-3"] as const;

export const DEMO_MARKET_SPEC: Omit<MarketSpec, "symbol"> = {
  tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1_000, refPrice: 1_000, bandBps: 2_000, state: "open",
};

/** Half-width, in ticks, of the price range each side quotes in; the ranges overlap by `CROSS_TICKS`. */
const QUOTE_TICKS = 5;
const CROSS_TICKS = 2;
const ORDER_QTY_MAX = 10;

export const demoMarkets = (n: number): string[] => Array.from({ length: n }, (_, i) => `SKU-${i + 1}`);
export const marketCmdId = (symbol: string): string => `demo-market-${symbol}`;

/** Publishes one `market` command per symbol for account admin; resolves once the stream has acknowledged all. */
export async function defineMarkets(js: JetStreamClient, partitions: number, markets: readonly string[]): Promise<void> {
  const policy = {
    attemptsMax: clientLimits.publishAttemptsMax, ackMsTimeout: clientLimits.publishMsTimeout,
    backoffMsBase: clientLimits.publishBackoffMsBase, backoffMsMax: clientLimits.publishBackoffMsMax,
  };
  await Promise.all(
    markets.map((symbol) => {
      const cmd: MarketCommand = { kind: "market", cmdId: marketCmdId(symbol), account: ADMIN_ACCOUNT, symbol, ...DEMO_MARKET_SPEC };
      return publishCommand(js, subjects.in(partitionOf(symbol, partitions), symbol, ADMIN_ACCOUNT), encodeCommand(cmd), cmd.cmdId, policy);
    }),
  );
}

/** Resolves once every market answers a depth query; throws a DevError naming the ones that do not. */
export async function waitMarkets(admin: BourseClient, markets: readonly string[], signal?: AbortSignal): Promise<void> {
  const pending = new Map(markets.map((m) => [m, "no answer yet"]));
  const deadline = Date.now() + devLimits.marketsMsTimeout;
  while (pending.size > 0) {
    throwIfStopped(signal, "waiting for the demo markets");
    await Promise.all(
      [...pending.keys()].map(async (m) => {
        try {
          await admin.depth({ market: m, levels: 1 }, { timeoutMs: devLimits.httpMsTimeout });
          pending.delete(m);
        } catch (e) {
          pending.set(m, e instanceof Error ? e.message : String(e));
        }
      }),
    );
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      const why = [...pending].map(([m, w]) => `  ${m}: ${w}`).join("\n");
      throw new DevError("markets_failed", `demo markets not ready within ${devLimits.marketsMsTimeout} ms:\n${why}`);
    }
    await sleep(devLimits.pollMsInterval * 4);
  }
}

export interface LoadStats {
  /** Commands published (places and cancels). */
  sent: number;
  accepted: number;
  cancelled: number;
  rejected: number;
  trades: number;
  /** Publish failures and report timeouts. */
  errors: number;
  /** Commands not sent because `loadInFlightMax` were waiting already. */
  skipped: number;
  inFlight: number;
  lastError: string | undefined;
}

interface Trader {
  client: BourseClient;
  /** Open orders (id → market), oldest first, at most loadOpenOrdersMax. */
  open: Map<number, string>;
}

export class DemoLoad {
  readonly stats: LoadStats = { sent: 0, accepted: 0, cancelled: 0, rejected: 0, trades: 0, errors: 0, skipped: 0, inFlight: 0, lastError: undefined };
  private readonly traders: Trader[];
  private readonly pending = new Set<Promise<void>>();
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private budget = 0;
  private stopping = false;

  /** @param random injected, so a test can make the load deterministic. */
  constructor(
    clients: readonly BourseClient[],
    private readonly markets: readonly string[],
    private readonly ratePerSecond: number,
    private readonly random: () => number = Math.random,
  ) {
    this.traders = clients.map((client) => ({ client, open: new Map() }));
    for (const t of this.traders) {
      this.unsubscribe.push(t.client.onReport((e) => this.observe(t, e)));
      this.unsubscribe.push(t.client.onError((e) => this.fail(e.message)));
    }
  }

  start(): void {
    if (this.ratePerSecond === 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), devLimits.loadMsTick);
  }

  /** Stops sending; waits (bounded) for the reports of commands already sent. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    const ac = new AbortController();
    await Promise.race([Promise.allSettled([...this.pending]), sleep(devLimits.loadReportMsTimeout, undefined, { signal: ac.signal }).catch(() => {})]);
    ac.abort();
    for (const u of this.unsubscribe) u();
  }

  private tick(): void {
    this.budget += (this.ratePerSecond * devLimits.loadMsTick) / 1_000;
    while (this.budget >= 1 && this.pending.size < devLimits.loadInFlightMax) {
      this.budget -= 1;
      this.track(this.sendOne());
    }
    // Behind (the cluster is slower than the rate): drop, do not queue.
    if (this.budget >= 1) {
      this.stats.skipped += Math.floor(this.budget);
      this.budget -= Math.floor(this.budget);
    }
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    this.stats.inFlight = this.pending.size;
    void p.finally(() => {
      this.pending.delete(p);
      this.stats.inFlight = this.pending.size;
    });
  }

  /** Never rejects: every failure is counted. */
  private async sendOne(): Promise<void> {
    const t = this.traders[Math.floor(this.random() * this.traders.length)]!;
    const cancelChance = t.open.size > devLimits.loadOpenOrdersTarget ? 0.6 : 0.2;
    this.stats.sent++;
    try {
      if (t.open.size > 0 && this.random() < cancelChance) await this.cancelOne(t);
      else await this.placeOne(t);
    } catch (e) {
      this.fail(e instanceof Error ? e.message : String(e));
    }
  }

  private async placeOne(t: Trader): Promise<void> {
    const market = this.markets[Math.floor(this.random() * this.markets.length)]!;
    const side: Side = this.random() < 0.5 ? "buy" : "sell";
    // Buys quote from ref-QUOTE to ref+CROSS, sells from ref-CROSS to ref+QUOTE: the overlap trades.
    const offset = Math.floor(this.random() * (QUOTE_TICKS + CROSS_TICKS + 1));
    const ref = DEMO_MARKET_SPEC.refPrice;
    const price = side === "buy" ? ref - QUOTE_TICKS + offset : ref + QUOTE_TICKS - offset;
    const qty = 1 + Math.floor(this.random() * ORDER_QTY_MAX);
    this.count(await t.client.place({ market, side, type: "limit", price, qty, tif: "GTC" }, { timeoutMs: devLimits.loadReportMsTimeout }));
  }

  private async cancelOne(t: Trader): Promise<void> {
    const ids = [...t.open.keys()];
    const orderId = ids[Math.floor(this.random() * ids.length)]!;
    const market = t.open.get(orderId)!;
    t.open.delete(orderId);
    this.count(await t.client.cancel({ market, orderId }, { timeoutMs: devLimits.loadReportMsTimeout }));
  }

  /** Counts a command's outcome. A cancel of an order that filled meanwhile is rejected: normal here. */
  private count(r: CommandReport): void {
    if (!r.ok) this.stats.rejected++;
    else if (r.status === "accepted") this.stats.accepted++;
    else if (r.status === "cancelled") this.stats.cancelled++;
  }

  /**
   * Keeps each trader's open orders current, from its reports in log order (so
   * an order that fills at once never counts as open): accepted orders join,
   * filled, cancelled and expired ones leave.
   */
  private observe(t: Trader, e: EngineEvent): void {
    if (e.type === "accepted") {
      t.open.set(e.orderId, e.market);
      if (t.open.size > devLimits.loadOpenOrdersMax) t.open.delete(t.open.keys().next().value!);
    } else if (e.type === "trade") {
      // Each trade reaches both sides' clients: count it once, at the taker's.
      if (e.takerAccount === t.client.account) this.stats.trades++;
      if (e.makerAccount === t.client.account && e.makerRemaining === 0) t.open.delete(e.maker);
      if (e.takerAccount === t.client.account && e.takerRemaining === 0) t.open.delete(e.taker);
    } else if (e.type === "cancelled" || e.type === "expired") {
      t.open.delete(e.orderId);
    }
  }

  private fail(message: string): void {
    // Once stopping, closing clients fail their waits on purpose.
    if (this.stopping) return;
    this.stats.errors++;
    this.stats.lastError = message;
  }
}
