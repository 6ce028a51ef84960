import { SliceBudget, runToEnd } from "./slices.js";
import { Packr } from "msgpackr";
import { fail } from "./assert.js";
import { SnapshotError } from "./errors.js";
import { deriveRules } from "./market-rules.js";
import { NONE } from "./order-store.js";
import type { OrderColumns } from "./order-columns.js";
import { OrderBook } from "./order-book.js";
import { PartitionState, outcomeOfEntry, type IdempotencyEntry } from "./partition-state.js";
import type { IdempotencyIndex } from "./idempotency-index.js";
import { flatString } from "./flat-string.js";
import { MsgpackReader } from "./msgpack-reader.js";
import { MsgpackWriter } from "./msgpack-writer.js";
import type { BookSide } from "./book-side.js";
import type { PriceLevel } from "./price-level.js";
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
  /** Terminal orders, oldest first. */
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

/**
 * The snapshot of a state: the msgpack of `snapshotDocument(s)`, written order by order
 * (msgpack-writer.ts) so that no tuple per order is allocated. At 1M resting orders the
 * document form cost ~150 MB of short-lived arrays per snapshot, which V8 kept as
 * committed heap afterwards (bench memory: RSS after 10M orders).
 *
 * `sizeHint`, when given, is the buffer to start with (PartitionEngine passes one
 * scaled from its previous snapshot): a close hint means one allocation and no copy.
 */
export function encodeSnapshot(s: PartitionState, sizeHint?: number): Uint8Array {
  return runToEnd(encodeSnapshotInSlices(s, sizeHint, Number.POSITIVE_INFINITY));
}

/**
 * `encodeSnapshot` in slices: the generator yields after every `unitsPerSlice` orders
 * and outcomes written, and returns the bytes. The state must not change until it
 * returns (PartitionEngine.snapshotInSlices refuses commands meanwhile); a node runs
 * the slices from its event loop so that a big book's encoding (1.5 s at 1M resting
 * orders) does not stop its heartbeats, queries and other partitions.
 */
export function* encodeSnapshotInSlices(s: PartitionState, sizeHint: number | undefined, unitsPerSlice: number): Generator<void, Uint8Array> {
  const slice = new SliceBudget(unitsPerSlice);
  const st = s.store;
  const w = new MsgpackWriter(packr, sizeHint ?? 1024 + snapshotUnits(s) * 100);
  w.mapHeader(10);
  w.string("v").number(SNAPSHOT_VERSION).string("partition").number(s.partition).string("seq").number(s.seq);
  w.string("tradeSeq").number(s.tradeSeq).string("lastInSeq").number(s.lastInSeq).string("now").number(s.now);
  w.string("markets").arrayHeader(s.markets.size);
  for (const b of s.markets.values()) {
    w.arrayHeader(3).value(b.rules.spec);
    for (const side of [b.bids, b.asks]) {
      w.arrayHeader(side.depth);
      for (const lvl of side.bestFirst()) {
        w.arrayHeader(2).number(lvl.price).arrayHeader(lvl.count);
        for (let o = lvl.head; o !== NONE; o = st.next(o)) {
          st.writeTupleTo(w, o);
          if (slice.spent(1)) yield;
        }
      }
    }
  }
  w.string("accounts").arrayHeader(s.accounts.accounts);
  for (const [account, count, head] of s.accounts.perAccount()) {
    w.arrayHeader(2).string(account).arrayHeader(count);
    for (let o = head; o !== NONE; o = st.aNext(o)) w.number(st.id(o));
    if (slice.spent(count >>> 3)) yield;
  }
  const terminal: [OrderColumns | null, number][] = [];
  s.terminal.forEachOldestFirst((columns, row) => terminal.push([columns, row]));
  w.string("terminal").arrayHeader(terminal.length);
  for (const [columns, row] of terminal) {
    columns!.writeTupleTo(w, row);
    if (slice.spent(1)) yield;
  }
  // Oldest first, each value found with the hash the index keeps: no key is rehashed.
  const seen = s.byCmd;
  const n = seen.finished;
  w.string("seen").arrayHeader(n);
  for (let i = 0; i < n; i++) {
    w.arrayHeader(4);
    seen.writeFinishedKey(w, i);
    writeOutcome(w, seen.finishedValue(i));
    if (slice.spent(1)) yield;
  }
  return w.finish();
}

/** An idempotency entry's outcome as a seen tuple's last three fields (result, orderId, code), as `outcomeOfEntry` reads it. */
function writeOutcome(w: MsgpackWriter, v: IdempotencyEntry): void {
  if (typeof v === "number") {
    w.string(v < 0 ? "accepted" : "done").number(v < 0 ? -v : v).nil();
    return;
  }
  w.string(v.result).number(v.orderId);
  if (v.code === undefined) w.nil();
  else w.string(v.code);
}

/** What a snapshot's size scales with: resident orders and remembered outcomes (~100 and ~55 bytes each). */
export function snapshotUnits(s: PartitionState): number {
  return s.restingOrders + s.terminal.size + s.byCmd.finished;
}

/** The snapshot as a document (what encodeSnapshot writes, materialised): for tests and tools. */
export function snapshotDocument(s: PartitionState): SnapshotDoc {
  return {
    v: SNAPSHOT_VERSION, partition: s.partition, seq: s.seq, tradeSeq: s.tradeSeq, lastInSeq: s.lastInSeq,
    now: s.now,
    markets: [...s.markets.values()].map((b) => [b.rules.spec, levels(s, b.bids), levels(s, b.asks)]),
    accounts: [...s.accounts.entries()].map(([a, os]) => [a, os.map((o) => s.store.id(o))]),
    terminal: s.terminal.tuples(),
    seen: seenTuples(s.byCmd),
  };
}

/** msgpack of a document, as the engine has always packed it (tests compare encodeSnapshot with it). */
export function packSnapshotDocument(doc: SnapshotDoc): Uint8Array {
  return packr.pack(doc);
}

export function seenTuple(cmdId: string, o: Outcome): SeenTuple {
  return [cmdId, o.result, o.orderId, o.code ?? null];
}

/** The finished commands of an idempotency index as seen tuples, oldest first (what the writer encodes). */
export function seenTuples(index: IdempotencyIndex): SeenTuple[] {
  const out: SeenTuple[] = [];
  for (let i = 0; i < index.finished; i++) out.push(seenTuple(index.finishedKey(i), outcomeOfEntry(index.finishedValue(i))));
  return out;
}

function levels(s: PartitionState, side: BookSide): LevelTuple[] {
  const out: LevelTuple[] = [];
  for (const lvl of side.bestFirst()) {
    const os: OrderTuple[] = [];
    for (let o = lvl.head; o !== NONE; o = s.store.next(o)) os.push(s.store.tuple(o));
    out.push([lvl.price, os]);
  }
  return out;
}

/** Reads the header of a snapshot without rebuilding the state (its first six entries). */
export function snapshotMeta(bytes: Uint8Array): SnapshotMeta {
  const r = new MsgpackReader(bytes);
  const head = readHead(r);
  if (head === null) {
    const doc = unpack(bytes);
    return { partition: doc.partition, seq: doc.seq, lastInSeq: doc.lastInSeq };
  }
  return { partition: head.partition, seq: head.seq, lastInSeq: head.lastInSeq };
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
  return runToEnd(decodeSnapshotInSlices(bytes, terminalOrdersMax, idempotencyMax, Number.POSITIVE_INFINITY));
}

/**
 * `decodeSnapshot` in slices: the state is rebuilt straight from the bytes, order by
 * order (MsgpackReader), and the generator yields after every `unitsPerSlice` orders and
 * outcomes. A node restoring a big partition lets its event loop turn between slices
 * (at 1M resting orders a restore took ~5 s in one piece). Snapshots whose entries are
 * not in the order encodeSnapshot writes them are unpacked whole and rebuilt as before.
 */
export function* decodeSnapshotInSlices(
  bytes: Uint8Array, terminalOrdersMax: number, idempotencyMax: number, unitsPerSlice: number,
): Generator<void, PartitionState> {
  let s: PartitionState | null = null;
  try {
    const r = new MsgpackReader(bytes);
    const head = readHead(r);
    if (head === null) return rebuild(unpack(bytes), terminalOrdersMax, idempotencyMax);
    // A resting order takes ~100 bytes of a snapshot: an upper bound on the orders to come.
    s = new PartitionState(head.partition, terminalOrdersMax, idempotencyMax, Math.ceil(bytes.length / 100));
    s.seq = head.seq;
    s.tradeSeq = head.tradeSeq;
    s.lastInSeq = head.lastInSeq;
    s.now = head.now;
    const slice = new SliceBudget(unitsPerSlice);
    const tuple = [] as unknown as OrderTuple;
    expectKey(r, "markets");
    for (let m = r.arrayHeader(); m > 0; m--) {
      if (r.arrayHeader() !== 3) fail("a market is not [spec, bids, asks]");
      const book = addBook(s, r.value() as MarketSpec);
      for (const side of [book.bids, book.asks]) {
        for (let l = r.arrayHeader(); l > 0; l--) {
          if (r.arrayHeader() !== 2) fail("a level is not [price, orders]");
          const lvl = side.levelAt(r.number());
          for (let n = r.arrayHeader(); n > 0; n--) {
            restOrder(s, book, lvl, readTuple(r, tuple));
            if (slice.spent(1)) yield;
          }
        }
      }
      book.check(s.store);
    }
    expectKey(r, "accounts");
    for (let a = r.arrayHeader(); a > 0; a--) {
      if (r.arrayHeader() !== 2) fail("an account entry is not [account, ids]");
      const account = r.string();
      const n = r.arrayHeader();
      for (let i = 0; i < n; i++) listAccountOrder(s, account, r.number());
      if (slice.spent(n >>> 3)) yield;
    }
    expectKey(r, "terminal");
    for (let n = r.arrayHeader(); n > 0; n--) {
      s.terminal.addTuple(readTuple(r, tuple));
      if (slice.spent(1)) yield;
    }
    expectKey(r, "seen");
    const seen = r.arrayHeader();
    s.byCmd.reserve(seen);
    for (let n = seen; n > 0; n--) {
      if (r.arrayHeader() !== 4) fail("a seen entry is not [cmdId, result, orderId, code]");
      const cmdId = r.string();
      const result = r.string() as Outcome["result"];
      const orderId = r.number();
      seenEntry(s, cmdId, result, orderId, r.stringOrNull() as RejectCode | null);
      if (slice.spent(1)) yield;
    }
    if (!r.atEnd) fail(`${bytes.length - r.pos} bytes after the snapshot`);
    return s;
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`snapshot of partition ${s?.partition ?? "?"} is inconsistent: ${(e as Error).message}`, { cause: e });
  }
}

interface SnapshotHead {
  partition: number;
  seq: number;
  tradeSeq: number;
  lastInSeq: number;
  now: number;
}

const HEAD_KEYS = ["v", "partition", "seq", "tradeSeq", "lastInSeq", "now"] as const;

/** The map header and the first six entries, in encodeSnapshot's order; null when they are not in that order. */
function readHead(r: MsgpackReader): SnapshotHead | null {
  if (r.mapHeader() !== 10) return null;
  const values: number[] = [];
  for (const key of HEAD_KEYS) {
    if (r.value() !== key) return null;
    values.push(r.number());
  }
  const [v, partition, seq, tradeSeq, lastInSeq, now] = values as [number, number, number, number, number, number];
  if (v !== SNAPSHOT_VERSION) throw new SnapshotError(`unsupported snapshot version ${v}`);
  return { partition, seq, tradeSeq, lastInSeq, now };
}

function expectKey(r: MsgpackReader, key: string): void {
  const k = r.string();
  if (k !== key) throw new SnapshotError(`snapshot: entry "${key}" expected, found "${k}"`);
}

/** One order tuple into `t` (a scratch array reused for every order). */
function readTuple(r: MsgpackReader, t: OrderTuple): OrderTuple {
  if (r.arrayHeader() !== 14) fail("an order is not a 14-field tuple");
  t[0] = r.number();
  t[1] = r.string();
  t[2] = r.string();
  t[3] = r.string();
  t[4] = r.number() as 0 | 1;
  t[5] = r.string() as OrderType;
  t[6] = r.string() as TimeInForce;
  t[7] = r.string() as StpMode;
  t[8] = r.number() as 0 | 1;
  t[9] = r.number();
  t[10] = r.number();
  t[11] = r.number();
  t[12] = r.number();
  t[13] = r.string() as OrderStatus;
  return t;
}

/** The state a snapshot document describes (throws AssertionError when it is inconsistent). */
export function rebuild(doc: SnapshotDoc, terminalOrdersMax: number, idempotencyMax: number): PartitionState {
  const s = new PartitionState(doc.partition, terminalOrdersMax, idempotencyMax);
  s.seq = doc.seq;
  s.tradeSeq = doc.tradeSeq;
  s.lastInSeq = doc.lastInSeq;
  s.now = doc.now;
  for (const [spec, bids, asks] of doc.markets) {
    const book = addBook(s, spec);
    for (const [side, lvls] of [[book.bids, bids], [book.asks, asks]] as const) {
      for (const [price, os] of lvls) {
        const lvl = side.levelAt(price);
        for (const t of os) restOrder(s, book, lvl, t);
      }
    }
    book.check(s.store);
  }
  for (const [account, ids] of doc.accounts) {
    for (const id of ids) listAccountOrder(s, account, id);
  }
  for (const t of doc.terminal) s.terminal.addTuple(t);
  s.byCmd.reserve(doc.seen.length);
  for (const [cmdId, result, orderId, code] of doc.seen) seenEntry(s, cmdId, result, orderId, code);
  return s;
}

function addBook(s: PartitionState, spec: MarketSpec): OrderBook {
  const book = new OrderBook(deriveRules(spec));
  s.markets.set(spec.symbol, book);
  return book;
}

/** Rests an order of the snapshot at `lvl` (its account list is rebuilt from the snapshot's accounts). */
function restOrder(s: PartitionState, book: OrderBook, lvl: PriceLevel, t: OrderTuple): void {
  if (t[3] !== book.symbol) fail(`order ${t[0]} of market ${t[3]} rests in the book of ${book.symbol}`);
  if (!(t[13] === "new" || t[13] === "open" || t[13] === "partially_filled")) fail(`order ${t[0]} rests while ${t[13]}`);
  const st = s.store;
  const o = st.allocTuple(t);
  // A cmdId kept as a string must not be a slice of the whole snapshot's text (flat-string.ts).
  if (st.cmdIsText(o)) st.replaceText(o, flatString(t[1]));
  lvl.append(st, o);
  book.resting++;
  s.indexOrder(o);
  s.rememberOpen(o, t[1]);
  if (st.expireAt(o) > 0) s.expiry.push(o);
}

function listAccountOrder(s: PartitionState, account: string, id: number): void {
  const o = s.liveOrder(id);
  if (!(o >= 0 && s.store.accountOf(o) === account)) fail(`account ${account} lists unknown order ${id}`);
  s.accounts.add(o);
}

function seenEntry(s: PartitionState, cmdId: string, result: Outcome["result"], orderId: number, code: RejectCode | null): void {
  s.byCmd.restoreKey(cmdId, outcomeValue(result, orderId, code));
}

/** The in-memory form of a remembered outcome (see PartitionState.byCmd). */
function outcomeValue(result: Outcome["result"], orderId: number, code: RejectCode | null): Outcome | number {
  if (result === "done") return orderId;
  if (result === "accepted" && orderId > 0) return -orderId;
  if (result === "rejected") return { result, orderId, code: code ?? "internal_error" };
  return { result, orderId };
}
