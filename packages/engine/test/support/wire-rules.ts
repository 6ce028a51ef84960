import { limits } from "../../src/limits.js";
import { MARKET_STATES, ORDER_TYPES, SIDES, STP_MODES, TIFS } from "../../src/types.js";
import type { CommandKind } from "../../src/types.js";

// An independent description of the wire format (the oracle of the codec tests),
// deliberately not read from src/command-schema.ts.

export type Rule =
  | { t: "string"; max: number }
  | { t: "int"; min: number; max: number }
  | { t: "enum"; values: readonly string[] }
  | { t: "boolean" };

const ID: Rule = { t: "string", max: limits.idLengthMax };
const SYM: Rule = { t: "string", max: limits.symbolLengthMax };
const PRICE: Rule = { t: "int", min: 1, max: limits.priceMax };
const QTY: Rule = { t: "int", min: 1, max: limits.qtyMax };

/** The rule of every field but `kind`. */
export const RULES: Readonly<Record<string, Rule>> = {
  cmdId: ID, account: ID, market: SYM, symbol: SYM,
  side: { t: "enum", values: SIDES }, type: { t: "enum", values: ORDER_TYPES }, tif: { t: "enum", values: TIFS },
  stp: { t: "enum", values: STP_MODES }, state: { t: "enum", values: MARKET_STATES }, postOnly: { t: "boolean" },
  price: PRICE, protectionPrice: PRICE, tickSize: PRICE, refPrice: PRICE,
  qty: QTY, lotSize: QTY, minQty: QTY, maxQty: QTY,
  orderId: { t: "int", min: 1, max: Number.MAX_SAFE_INTEGER },
  expireAt: { t: "int", min: 0, max: Number.MAX_SAFE_INTEGER },
  bandBps: { t: "int", min: 1, max: limits.bandBpsMax },
};

/** The fields of each kind besides `kind`, `cmdId` and `account` (required or optional: see required-fields.ts). */
export const FIELDS: Readonly<Record<CommandKind, readonly string[]>> = {
  place: ["market", "side", "type", "price", "qty", "tif", "expireAt", "postOnly", "stp", "protectionPrice"],
  cancel: ["market", "orderId"],
  amend: ["market", "orderId", "price", "qty"],
  cancelAll: ["market"],
  market: ["symbol", "tickSize", "lotSize", "minQty", "maxQty", "refPrice", "bandBps", "state"],
  tick: [],
  query: ["market", "orderId"],
};
