import type { Msg, Subscription } from "@nats-io/transport-node";
import { decodeValue, encodeValue, type PartitionEngine } from "@bourse/engine";
import { subjects } from "../protocol.js";
import type { PartitionDeps } from "./deps.js";

const LEVELS_MAX = 100;

/** Answers order and depth queries for one partition from its committed state (request/reply). */
export function serveQueries(deps: PartitionDeps, p: number, engine: () => PartitionEngine): Subscription {
  return deps.nc.subscribe(subjects.query(p), {
    callback: (err, msg) => {
      if (err) return;
      msg.respond(encodeValue(answer(msg, engine())));
    },
  });
}

function answer(msg: Msg, engine: PartitionEngine): unknown {
  let q: Record<string, unknown>;
  try {
    const text = msg.data[0] === 0x7b ? new TextDecoder().decode(msg.data) : null;
    q = (text !== null ? JSON.parse(text) : decodeValue(msg.data)) as Record<string, unknown>;
  } catch {
    return { ok: false, code: "malformed", message: "query must be a msgpack map or a JSON object" };
  }
  if (typeof q !== "object" || q === null) return { ok: false, code: "malformed", message: "query must be a map" };
  const market = q["market"];
  if (typeof market !== "string") return { ok: false, code: "missing_field", message: "market is required" };
  if (q["kind"] === "depth") {
    const levels = typeof q["levels"] === "number" ? Math.min(Math.max(1, q["levels"]), LEVELS_MAX) : 10;
    const d = engine.depth(market, levels);
    return d ? { ok: true, ...d } : { ok: false, code: "unknown_market", message: `market ${market} does not exist in this partition` };
  }
  if (q["kind"] !== "query") return { ok: false, code: "unknown_kind", message: "kind must be query or depth" };
  const orderId = q["orderId"];
  if (typeof orderId !== "number" || !Number.isSafeInteger(orderId)) return { ok: false, code: "invalid_type", message: "orderId must be an integer" };
  if (!engine.hasMarket(market)) return { ok: false, code: "unknown_market", message: `market ${market} does not exist in this partition` };
  const order = engine.query(market, orderId);
  if (order && typeof q["account"] === "string" && q["account"] !== order.account)
    return { ok: false, code: "not_owner", message: `order ${orderId} belongs to another account` };
  return order
    ? { ok: true, order }
    : { ok: false, code: "unknown_order", message: `order ${orderId} is not resident in market ${market} (unknown, or passivated: see BOURSE_OUT)` };
}
