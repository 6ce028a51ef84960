import { Packr } from "msgpackr";
import { fail } from "./assert.js";
import { SnapshotError } from "./errors.js";
import { deriveRules } from "./market-rules.js";
import { OrderActor } from "./order-actor.js";
import { OrderBook } from "./order-book.js";
import { PartitionState } from "./partition-state.js";
import { hashString } from "./string-hash.js";
import type { BookSide } from "./book-side.js";
import type { MarketSpec, OrderStatus, OrderType, Outcome, RejectCode, StpMode, TimeInForce } from "./types.js";

/** Snapshot format version; bump on any layout change. */
export const SNAPSHOT_VERSION = 1;

export type OrderTuple = [
  id: number, cmdId: string, account: string, market: string, isBuy: 0 | 1, orderType: OrderType,
  tif: TimeInForce, stp: StpMode, postOnly: 0 | 1, expireAt: number, price: number, remaining: number,
  filled: number, status: OrderStatus,
];
export type LevelTuple = [price: number, orders: OrderTuple[]];
export type MarketTuple = [spec: MarketSpec, bids: LevelTuple[], asks: LevelTuple[]];
export type SeenTuple = [cmdId: string, result: Outcome["result"], orderId: number, code: RejectCode | null];

/** A snapshot before msgpack: what `encodeSnapshot` packs and `rebuild` reads. */
export interface SnapshotDoc {
  v: number;
  partition: number;
  seq: number;
  tradeSeq: number;
  lastInSeq: number;
  now: number;
  markets: MarketTuple[];
  /** Live order ids per account, in the account index's order. */
  accounts: [string, number[]][];
  /** Terminal orders, least recently used first. */
  terminal: OrderTuple[];
  /** Outcomes of finished commands, oldest first (resting orders' come from the book). */
  seen: SeenTuple[];
}

/** Plain msgpack maps and arrays: readable from any language. */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export interface SnapshotMeta {
  partition: number;
  seq: number;
  lastInSeq: number;
}

export function encodeSnapshot(s: PartitionState): Uint8Array {
  const doc: SnapshotDoc = {
    v: SNAPSHOT_VERSION, partition: s.partition, seq: s.seq, tradeSeq: s.tradeSeq, lastInSeq: s.lastInSeq,
    now: s.now,
    markets: [...s.markets.values()].map((b) => [b.rules.spec, levels(b.bids), levels(b.asks)]),
    accounts: [...s.accounts.entries()].map(([a, os]) => [a, os.map((o) => o.id)]),
    terminal: s.terminal.oldestFirst().map(orderTuple),
    seen: s.byCmd.finishedKeys().map((k) => seenTuple(k, s.outcomeOf(k)!)),
  };
  return packr.pack(doc);
}

export function seenTuple(cmdId: string, o: Outcome): SeenTuple {
  return [cmdId, o.result, o.orderId, o.code ?? null];
}

function levels(side: BookSide): LevelTuple[] {
  const out: LevelTuple[] = [];
  for (const lvl of side.bestFirst()) {
    const os: OrderTuple[] = [];
    for (let o = lvl.head; o; o = o.next) os.push(orderTuple(o));
    out.push([lvl.price, os]);
  }
  return out;
}

function orderTuple(o: OrderActor): OrderTuple {
  return [
    o.id, o.cmdId, o.account, o.market, o.isBuy ? 1 : 0, o.orderType, o.tif, o.stp, o.postOnly ? 1 : 0,
    o.expireAt, o.price, o.remaining, o.filled, o.status,
  ];
}

function actor(t: OrderTuple): OrderActor {
  const o = new OrderActor(t[0], t[1], t[2], t[3], t[4] === 1, t[5], t[6], t[7], t[8] === 1, t[9], t[10], t[11]);
  o.filled = t[12];
  o.status = t[13];
  return o;
}

/** Reads the header of a snapshot without rebuilding the state. */
export function snapshotMeta(bytes: Uint8Array): SnapshotMeta {
  const doc = unpack(bytes);
  return { partition: doc.partition, seq: doc.seq, lastInSeq: doc.lastInSeq };
}

function unpack(bytes: Uint8Array): SnapshotDoc {
  let doc: SnapshotDoc;
  try {
    doc = packr.unpack(bytes) as SnapshotDoc;
  } catch (e) {
    throw new SnapshotError("snapshot is not valid msgpack", { cause: e });
  }
  if (typeof doc !== "object" || doc === null || doc.v !== SNAPSHOT_VERSION)
    throw new SnapshotError(`unsupported snapshot version ${String((doc as SnapshotDoc | null)?.v)}`);
  return doc;
}

export function decodeSnapshot(bytes: Uint8Array, terminalOrdersMax: number, idempotencyMax: number): PartitionState {
  const doc = unpack(bytes);
  try {
    return rebuild(doc, terminalOrdersMax, idempotencyMax);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`snapshot of partition ${doc.partition} is inconsistent: ${(e as Error).message}`, { cause: e });
  }
}

/** The state a snapshot document describes (throws AssertionError when it is inconsistent). */
export function rebuild(doc: SnapshotDoc, terminalOrdersMax: number, idempotencyMax: number): PartitionState {
  const s = new PartitionState(doc.partition, terminalOrdersMax, idempotencyMax);
  s.seq = doc.seq;
  s.tradeSeq = doc.tradeSeq;
  s.lastInSeq = doc.lastInSeq;
  s.now = doc.now;
  for (const [spec, bids, asks] of doc.markets) {
    const book = new OrderBook(deriveRules(spec));
    s.markets.set(spec.symbol, book);
    for (const [side, lvls] of [[book.bids, bids], [book.asks, asks]] as const) {
      for (const [price, os] of lvls) {
        const lvl = side.levelAt(price);
        for (const t of os) {
          const o = actor(t);
          lvl.append(o);
          book.resting++;
          s.orders.set(o.id, o);
          o.cmdHash = hashString(o.cmdId);
          s.byCmd.set(o.cmdId, o.cmdHash, -o.id);
          if (o.expireAt > 0) s.expiry.push(o);
        }
      }
    }
    book.check();
  }
  for (const [account, ids] of doc.accounts) {
    for (const id of ids) {
      const o = s.orders.get(id);
      if (!(o !== undefined && o.account === account)) fail(`account ${account} lists unknown order ${id}`);
      s.accounts.add(o);
    }
  }
  for (const t of doc.terminal) s.terminal.add(actor(t));
  for (const [cmdId, result, orderId, code] of doc.seen) {
    const h = hashString(cmdId);
    s.byCmd.set(cmdId, h, outcomeValue(result, orderId, code));
    s.byCmd.restoreFinished(cmdId, h);
  }
  return s;
}

/** The in-memory form of a remembered outcome (see PartitionState.byCmd). */
function outcomeValue(result: Outcome["result"], orderId: number, code: RejectCode | null): Outcome | number {
  if (result === "done") return orderId;
  if (result === "accepted" && orderId > 0) return -orderId;
  if (result === "rejected") return { result, orderId, code: code ?? "internal_error" };
  return { result, orderId };
}
