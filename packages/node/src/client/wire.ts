/**
 * Decoding what the cluster sends the client: report messages, output batches
 * and query replies, all in the engine codec's msgpack dialect. Everything from
 * the wire is checked before it is trusted; a bad message becomes a typed error.
 */
import { decodeEvents, decodeValue, type BookLevel, type EngineEvent, type OrderView } from "@bourse/engine";
import type { ReportMessage } from "../protocol.js";
import { BourseClientError } from "./errors.js";

export interface Report extends ReportMessage {
  events: EngineEvent[];
}

export type QueryReply<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** A ReportMessage from `bourse.evt.<account>`; throws BourseClientError("malformed_report"). */
export function decodeReport(bytes: Uint8Array): Report {
  let v: unknown;
  try {
    v = decodeValue(bytes);
  } catch (e) {
    throw malformed(`not msgpack: ${(e as Error).message}`, e);
  }
  if (!isMap(v)) throw malformed("not a map");
  const int = (k: keyof ReportMessage, min: number): number => {
    const n = v[k];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min) throw malformed(`${k} must be an integer >= ${min}, got ${String(n)}`);
    return n;
  };
  const r = {
    partition: int("partition", 0),
    streamSeq: int("streamSeq", 1),
    firstSeq: int("firstSeq", 1),
    lastSeq: int("lastSeq", 1),
    prevSeq: int("prevSeq", -1),
    events: checkEvents(v["events"]),
  };
  if (r.events.length === 0) throw malformed("events is empty");
  const first = r.events[0]!.seq;
  const last = r.events[r.events.length - 1]!.seq;
  if (first < r.firstSeq || last > r.lastSeq) throw malformed(`events ${first}..${last} outside the batch ${r.firstSeq}..${r.lastSeq}`);
  if (r.prevSeq >= first) throw malformed(`prevSeq ${r.prevSeq} is not before the first event ${first}`);
  return r;
}

/** The events of one BOURSE_OUT message (a msgpack array), checked for increasing sequences. */
export function decodeBatch(bytes: Uint8Array): EngineEvent[] {
  let v: unknown;
  try {
    v = decodeEvents(bytes);
  } catch (e) {
    throw malformed(`output batch is not a msgpack array of events: ${(e as Error).message}`, e);
  }
  return checkEvents(v);
}

/** Whether an event concerns `account`: its own, or a trade on either side. */
export function concerns(e: EngineEvent, account: string): boolean {
  if (e.type === "trade") return e.makerAccount === account || e.takerAccount === account;
  return "account" in e && e.account === account;
}

export function decodeOrderReply(bytes: Uint8Array): QueryReply<OrderView> {
  return decodeReply(bytes, (v) => {
    const order = v["order"];
    if (!isMap(order) || typeof order["orderId"] !== "number" || typeof order["status"] !== "string") return undefined;
    return order as unknown as OrderView;
  });
}

export interface Depth {
  bids: BookLevel[];
  asks: BookLevel[];
}

export function decodeDepthReply(bytes: Uint8Array): QueryReply<Depth> {
  return decodeReply(bytes, (v) => {
    const { bids, asks } = v;
    if (!Array.isArray(bids) || !Array.isArray(asks)) return undefined;
    return { bids: bids as BookLevel[], asks: asks as BookLevel[] };
  });
}

/** `{ ok: true, … }` or `{ ok: false, code, message }`; throws Error on anything else. */
function decodeReply<T>(bytes: Uint8Array, pick: (v: Record<string, unknown>) => T | undefined): QueryReply<T> {
  const v = decodeValue(bytes);
  if (!isMap(v) || typeof v["ok"] !== "boolean") throw new Error("reply is not a map with a boolean ok");
  if (v["ok"] === false) return { ok: false, code: String(v["code"] ?? "unknown"), message: String(v["message"] ?? "") };
  const value = pick(v);
  if (value === undefined) throw new Error("reply has ok: true but not the expected fields");
  return { ok: true, value };
}

function checkEvents(v: unknown): EngineEvent[] {
  if (!Array.isArray(v)) throw malformed("events must be an array");
  let prev = 0;
  for (const e of v as unknown[]) {
    if (!isMap(e) || typeof e["type"] !== "string") throw malformed("an event is not a map with a type");
    const seq = e["seq"];
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq <= prev) throw malformed(`event sequence ${String(seq)} does not follow ${prev}`);
    prev = seq;
  }
  return v as EngineEvent[];
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function malformed(message: string, cause?: unknown): BourseClientError {
  return new BourseClientError("malformed_report", `malformed report: ${message}`, cause === undefined ? undefined : { cause });
}
