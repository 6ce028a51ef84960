/**
 * What callers pass to the client, and how it becomes a validated engine command.
 *
 * The engine codec's validateCommand is the one definition of a command's shape,
 * so the client refuses exactly what a node would reject as malformed, with the
 * codec's message. On top of it the client checks what the codec cannot: market
 * and account travel as subject tokens (TOKEN_RE), and the account is the
 * client's, never a per-command field.
 */
import { randomUUID } from "node:crypto";
import {
  validateCommand,
  type AmendCommand,
  type CancelAllCommand,
  type CancelCommand,
  type OrderType,
  type PlaceCommand,
  type QueryCommand,
  type Side,
  type StpMode,
  type TimeInForce,
} from "@bourse/engine";
import { TOKEN_RE } from "../protocol.js";
import { BourseValidationError } from "./errors.js";

interface WithCmdId {
  /** Idempotency key; a random UUID when absent. Reuse it to retry the same command safely. */
  cmdId?: string;
}

export interface PlaceInput extends WithCmdId {
  market: string;
  side: Side;
  type: OrderType;
  /** Limit price in ticks' units; required for limit orders. */
  price?: number;
  qty: number;
  /** Default GTC for limit orders, IOC for market orders. */
  tif?: TimeInForce;
  /** Log time (ms since the epoch) at which a GTD order expires. */
  expireAt?: number;
  postOnly?: boolean;
  stp?: StpMode;
  /** Worst price a market order may trade at; the market's band edge when absent. */
  protectionPrice?: number;
}

export interface AmendInput extends WithCmdId {
  market: string;
  orderId: number;
  price?: number;
  /** New open (remaining) quantity (ADR 0003). */
  qty?: number;
}

export interface CancelInput extends WithCmdId {
  market: string;
  orderId: number;
}

export interface CancelAllInput extends WithCmdId {
  /** Only this market; every market of the account when absent. */
  market?: string;
}

export interface QueryInput {
  market: string;
  orderId: number;
}

type KindOf = { place: PlaceCommand; amend: AmendCommand; cancel: CancelCommand; cancelAll: CancelAllCommand; query: QueryCommand };
export type ClientKind = keyof KindOf;

const TOKEN_HINT = "1-64 characters of A-Z a-z 0-9 _ - : @ ~ (it travels as a NATS subject token)";

/** Throws BourseValidationError unless `account` can name the client's account. */
export function checkAccount(account: unknown): string {
  if (typeof account !== "string") throw new BourseValidationError("account", "missing_field", `account must be a string, got ${typeof account}`);
  if (!TOKEN_RE.test(account)) throw new BourseValidationError("account", "invalid_value", `account ${JSON.stringify(account)} is invalid: use ${TOKEN_HINT}`);
  return account;
}

/** Builds and validates a command of `kind` for `account` from caller input; throws BourseValidationError. */
export function buildCommand<K extends ClientKind>(kind: K, account: string, input: unknown): KindOf[K] {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new BourseValidationError("input", "malformed", `${kind} needs an object of fields, got ${input === null ? "null" : typeof input}`);
  }
  const fields = input as Record<string, unknown>;
  if (fields["account"] !== undefined) {
    throw new BourseValidationError("account", "unknown_field", `account is set once, in BourseClient.connect, not per command`);
  }
  if (fields["kind"] !== undefined) {
    throw new BourseValidationError("kind", "unknown_field", `kind is implied by the method (${kind}), not a field`);
  }
  const market = fields["market"];
  if (typeof market === "string" && !TOKEN_RE.test(market)) {
    throw new BourseValidationError("market", "invalid_value", `market ${JSON.stringify(market)} is invalid: use ${TOKEN_HINT}`);
  }
  const cmdId = fields["cmdId"] ?? randomUUID();
  const d = validateCommand({ ...fields, kind, cmdId, account });
  if (!d.ok) throw new BourseValidationError(fieldOf(d.message), d.code, `invalid ${kind}: ${d.message}`);
  return d.cmd as KindOf[K];
}

/** The field a codec message names: `field "qty" must …`, `unknown field "x"`, `amend needs price or qty`. */
function fieldOf(message: string): string {
  return /field "([^"]+)"/.exec(message)?.[1] ?? /needs (\w+)/.exec(message)?.[1] ?? "input";
}
