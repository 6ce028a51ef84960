/**
 * Queries are request/reply on bourse.q.<p>, answered by the partition's owner
 * from its committed state; they are not commands and are never logged.
 */
import { RequestError, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import { encodeCommand, encodeValue, type OrderView, type QueryCommand } from "@bourse/engine";
import { partitionOf } from "../partitioning.js";
import { TOKEN_RE, subjects } from "../protocol.js";
import { BourseQueryError, BourseValidationError } from "./errors.js";
import { clientLimits } from "./limits.js";
import { decodeDepthReply, decodeOrderReply, type Depth, type QueryReply } from "./wire.js";

export interface DepthInput {
  market: string;
  /** Price levels per side, 1..clientLimits.depthLevelsMax (default 10). */
  levels?: number;
}

const DEPTH_LEVELS_DEFAULT = 10;

export async function requestOrder(nc: NatsConnection, p: number, cmd: QueryCommand, timeoutMs: number): Promise<OrderView> {
  const what = `query of order ${cmd.orderId} in ${cmd.market}`;
  return unwrap(what, p, await request(nc, p, encodeCommand(cmd), timeoutMs, what, decodeOrderReply));
}

export async function requestDepth(nc: NatsConnection, partitions: number, input: DepthInput, timeoutMs: number): Promise<Depth> {
  const market = input?.market;
  if (typeof market !== "string" || !TOKEN_RE.test(market)) {
    throw new BourseValidationError("market", typeof market === "string" ? "invalid_value" : "missing_field", `depth needs a market (a subject token), got ${JSON.stringify(market)}`);
  }
  const levels = input.levels ?? DEPTH_LEVELS_DEFAULT;
  if (!Number.isSafeInteger(levels) || levels < 1 || levels > clientLimits.depthLevelsMax) {
    throw new BourseValidationError("levels", "invalid_value", `levels must be an integer in 1..${clientLimits.depthLevelsMax}, got ${String(levels)}`);
  }
  const p = partitionOf(market, partitions);
  const what = `depth of ${market}`;
  return unwrap(what, p, await request(nc, p, encodeValue({ kind: "depth", market, levels }), timeoutMs, what, decodeDepthReply));
}

async function request<T>(
  nc: NatsConnection,
  p: number,
  data: Uint8Array,
  timeoutMs: number,
  what: string,
  decode: (b: Uint8Array) => QueryReply<T>,
): Promise<QueryReply<T>> {
  let reply: Uint8Array;
  try {
    reply = (await nc.request(subjects.query(p), data, { timeout: timeoutMs })).data;
  } catch (e) {
    if (e instanceof TimeoutError) throw new BourseQueryError("timeout", p, `${what}: no reply on ${subjects.query(p)} within ${timeoutMs} ms`, undefined, { cause: e });
    if (e instanceof RequestError && e.isNoResponders()) {
      throw new BourseQueryError("no_responders", p, `${what}: nobody serves ${subjects.query(p)} (is partition ${p} owned by a running node?)`, undefined, { cause: e });
    }
    throw new BourseQueryError("request_failed", p, `${what}: request failed: ${(e as Error).message}`, undefined, { cause: e });
  }
  try {
    return decode(reply);
  } catch (e) {
    throw new BourseQueryError("malformed_reply", p, `${what}: malformed reply: ${(e as Error).message}`, undefined, { cause: e });
  }
}

function unwrap<T>(what: string, p: number, r: QueryReply<T>): T {
  if (r.ok) return r.value;
  throw new BourseQueryError("rejected", p, `${what}: ${r.code}: ${r.message}`, r.code);
}
