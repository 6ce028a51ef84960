import fc from "fast-check";
import type { Command, MarketCommand } from "../../src/types.js";

/** A command plus the log position it is applied at. */
export interface Step {
  cmd: Command;
  inSeq: number;
  ts: number;
}

export const MARKETS = ["SKU-A", "SKU-B"] as const;
export const ACCOUNTS = ["alice", "bob", "carol"] as const;

export function marketCmd(symbol: string, cmdId: string, over: Partial<MarketCommand> = {}): MarketCommand {
  return {
    kind: "market", cmdId, account: "admin", symbol, tickSize: 5, lotSize: 2, minQty: 2, maxQty: 200,
    refPrice: 1000, bandBps: 1000, state: "open", ...over,
  };
}

/** One command "shape", resolved against the steps so far (so cancels can name real orders). */
type Draft = (prior: Step[], inSeq: number, ts: number, cmdId: string) => Command;

const price = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 188, max: 212 }).map((p) => p * 5) },
  { weight: 1, arbitrary: fc.constantFrom(1001, 0, 2000, 905, 1100) },
);
const qty = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 30 }).map((q) => q * 2) }, { weight: 1, arbitrary: fc.constantFrom(1, 3, 202, 400) });
const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const stp = fc.constantFrom("none", "cancel_taker", "cancel_maker", "cancel_both", "decrement", undefined);

const placeDraft: fc.Arbitrary<Draft> = fc
  .record({
    market: fc.oneof({ weight: 20, arbitrary: pick(MARKETS) }, { weight: 1, arbitrary: fc.constant("SKU-X") }),
    account: pick(ACCOUNTS),
    side: pick(["buy", "sell"] as const),
    market_: fc.integer({ min: 0, max: 9 }),
    price,
    qty,
    tif: fc.constantFrom("GTC", "GTC", "IOC", "FOK", "GTD"),
    ttl: fc.integer({ min: -5, max: 40 }),
    postOnly: fc.constantFrom(true, false, undefined, undefined),
    stp,
    protect: fc.option(price, { nil: undefined }),
  })
  .map((r) => (_prior, _inSeq, ts, cmdId) => {
    const isMarket = r.market_ === 0;
    const tif = isMarket ? (r.tif === "FOK" ? "FOK" : "IOC") : r.tif;
    return {
      kind: "place", cmdId, account: r.account, market: r.market, side: r.side,
      type: isMarket ? "market" : "limit", qty: r.qty, tif,
      ...(isMarket ? (r.protect !== undefined ? { protectionPrice: r.protect } : {}) : { price: r.price }),
      ...(tif === "GTD" ? { expireAt: ts + r.ttl } : {}),
      ...(r.postOnly !== undefined && !isMarket && tif !== "IOC" && tif !== "FOK" ? { postOnly: r.postOnly } : {}),
      ...(r.stp !== undefined ? { stp: r.stp } : {}),
    } as Command;
  });

/** An order id that the sequence placed before (or a bogus one), with its market and owner. */
function target(prior: Step[], n: number): { orderId: number; market: string; account: string } {
  const places = prior.filter((s) => s.cmd.kind === "place");
  if (places.length === 0 || n % 11 === 0) return { orderId: 999_999, market: MARKETS[0], account: "alice" };
  const s = places[n % places.length]!;
  const c = s.cmd as { market: string; account: string };
  const account = n % 13 === 0 ? "mallory" : c.account;
  return { orderId: s.inSeq, market: c.market, account };
}

const cancelDraft: fc.Arbitrary<Draft> = fc.nat().map((n) => (prior, _i, _t, cmdId) => ({ kind: "cancel", cmdId, ...target(prior, n) }));

const amendDraft: fc.Arbitrary<Draft> = fc
  .record({ n: fc.nat(), price: fc.option(price, { nil: undefined }), qty: fc.option(qty, { nil: undefined }) })
  .map((r) => (prior, _i, _t, cmdId) => {
    const t = target(prior, r.n);
    const change = r.price === undefined && r.qty === undefined ? { qty: 2 } : {};
    return {
      kind: "amend", cmdId, ...t, ...change,
      ...(r.price !== undefined ? { price: r.price } : {}),
      ...(r.qty !== undefined ? { qty: r.qty } : {}),
    } as Command;
  });

const cancelAllDraft: fc.Arbitrary<Draft> = fc
  .record({ account: pick(ACCOUNTS), market: fc.option(pick(MARKETS), { nil: undefined }) })
  .map((r) => (_p, _i, _t, cmdId) => ({ kind: "cancelAll", cmdId, account: r.account, ...(r.market ? { market: r.market } : {}) }));

const adminDraft: fc.Arbitrary<Draft> = fc
  .record({ m: pick(MARKETS), halt: fc.boolean(), ref: fc.constantFrom(1000, 1050), who: fc.constantFrom("admin", "admin", "bob") })
  .map((r) => (_p, _i, _t, cmdId) => marketCmd(r.m, cmdId, { state: r.halt ? "halted" : "open", refPrice: r.ref, account: r.who }));

const tickDraft: fc.Arbitrary<Draft> = fc.constant((_p, _i, _t, cmdId) => ({ kind: "tick", cmdId, account: "admin" }));

/** Re-sends an earlier command verbatim (a duplicate cmdId). */
const repeatDraft: fc.Arbitrary<Draft> = fc.nat().map((n) => (prior, inSeq, ts, cmdId) =>
  prior.length > 0 ? prior[n % prior.length]!.cmd : { kind: "tick", cmdId, account: "admin" },
);

const draft = fc.oneof(
  { weight: 10, arbitrary: placeDraft },
  { weight: 3, arbitrary: cancelDraft },
  { weight: 3, arbitrary: amendDraft },
  { weight: 1, arbitrary: cancelAllDraft },
  { weight: 1, arbitrary: adminDraft },
  { weight: 1, arbitrary: tickDraft },
  { weight: 1, arbitrary: repeatDraft },
);

/**
 * The cmdId of the command at `inSeq`: a lowercase UUID (kept packed in 16 bytes by the
 * engine), an uppercase one or a short id (both kept as text), in turn, so every
 * property test drives both forms of cmdId through the engine (cmd-id.ts).
 */
export function cmdIdFor(inSeq: number): string {
  const uuid = `${inSeq.toString(16).padStart(8, "0")}-00a${inSeq % 10}-4000-8f00-${(inSeq * 7919).toString(16).padStart(12, "0")}`;
  return inSeq % 3 === 0 ? uuid : inSeq % 3 === 1 ? uuid.toUpperCase() : `c${inSeq}`;
}

/** A random command log: two markets opened first, then `min..max` drafted commands. */
export function commandLog(min = 1, max = 80): fc.Arbitrary<Step[]> {
  return fc
    .record({ drafts: fc.array(draft, { minLength: min, maxLength: max }), gaps: fc.array(fc.integer({ min: -2, max: 6 }), { minLength: max, maxLength: max }) })
    .map(({ drafts, gaps }) => {
      const steps: Step[] = [];
      let ts = 1_000;
      steps.push({ cmd: marketCmd(MARKETS[0], "m0"), inSeq: 1, ts });
      steps.push({ cmd: marketCmd(MARKETS[1], "m1", { tickSize: 1, lotSize: 1, minQty: 1 }), inSeq: 2, ts });
      drafts.forEach((d, i) => {
        ts += gaps[i] ?? 1;
        const inSeq = steps.length + 1;
        steps.push({ cmd: d(steps, inSeq, ts, cmdIdFor(inSeq)), inSeq, ts });
      });
      return steps;
    });
}
