/**
 * The shape of every command, as data: which fields each kind takes, in which
 * order, with which type and bounds. `codec.ts` interprets it.
 *
 * Field order follows types.ts; the codec builds decoded commands in this order
 * so that re-encoding a decoded command is deterministic.
 */
import { limits } from "./limits.js";
import { MARKET_STATES, ORDER_TYPES, SIDES, STP_MODES, TIFS } from "./types.js";
import type { AnyCommand, CommandKind } from "./types.js";

export type FieldRule =
  | { readonly type: "string"; readonly max: number }
  | { readonly type: "int"; readonly min: number; readonly max: number }
  | { readonly type: "boolean" }
  | { readonly type: "enum"; readonly values: readonly string[] };

/** Computes the default of an absent optional field from the fields decoded before it. */
export type Fallback = (cmd: Readonly<Record<string, unknown>>) => unknown;

export interface FieldSpec {
  readonly name: string;
  readonly rule: FieldRule;
  readonly required: boolean;
  readonly fallback?: Fallback;
}

export interface CommandSchema {
  readonly kind: CommandKind;
  /** Every field but `kind`, in canonical order (cmdId and account first). */
  readonly fields: readonly FieldSpec[];
  readonly names: ReadonlySet<string>;
  /** When set, at least one of these optional fields must be present. */
  readonly oneOf?: readonly string[];
}

export const COMMAND_KINDS: readonly CommandKind[] = ["place", "cancel", "amend", "cancelAll", "market", "tick", "query"];

const str = (max: number): FieldRule => ({ type: "string", max });
const int = (min: number, max: number): FieldRule => ({ type: "int", min, max });
const oneOf = (values: readonly string[]): FieldRule => ({ type: "enum", values });

const id = str(limits.idLengthMax);
const symbol = str(limits.symbolLengthMax);
const price = int(1, limits.priceMax);
const qty = int(1, limits.qtyMax);
const orderId = int(1, Number.MAX_SAFE_INTEGER);
const time = int(0, Number.MAX_SAFE_INTEGER);
const bps = int(1, limits.bandBpsMax);
const flag: FieldRule = { type: "boolean" };

type CommandOf<K extends CommandKind> = Extract<AnyCommand, { kind: K }>;
type FieldOf<K extends CommandKind> = Exclude<keyof CommandOf<K>, "kind" | "cmdId" | "account"> & string;
type Presence = "required" | "optional" | Fallback;
type Def<K extends CommandKind> = readonly [name: FieldOf<K>, rule: FieldRule, presence: Presence];

function schema<K extends CommandKind>(kind: K, defs: readonly Def<K>[], atLeastOne?: readonly FieldOf<K>[]): CommandSchema {
  const base: FieldSpec[] = [
    { name: "cmdId", rule: id, required: true },
    { name: "account", rule: id, required: true },
  ];
  const fields = base.concat(defs.map(([name, rule, presence]) => fieldSpec(name, rule, presence)));
  const names = new Set(["kind", ...fields.map((f) => f.name)]);
  return atLeastOne ? { kind, fields, names, oneOf: atLeastOne } : { kind, fields, names };
}

function fieldSpec(name: string, rule: FieldRule, presence: Presence): FieldSpec {
  if (typeof presence === "function") return { name, rule, required: false, fallback: presence };
  return { name, rule, required: presence === "required" };
}

/** Limit orders rest until cancelled; market orders never rest. */
const defaultTif: Fallback = (cmd) => (cmd["type"] === "market" ? "IOC" : "GTC");

export const COMMAND_SCHEMAS: { readonly [K in CommandKind]: CommandSchema } = {
  place: schema("place", [
    ["market", symbol, "required"],
    ["side", oneOf(SIDES), "required"],
    ["type", oneOf(ORDER_TYPES), "required"],
    ["price", price, "optional"],
    ["qty", qty, "required"],
    ["tif", oneOf(TIFS), defaultTif],
    ["expireAt", time, "optional"],
    ["postOnly", flag, "optional"],
    ["stp", oneOf(STP_MODES), "optional"],
    ["protectionPrice", price, "optional"],
  ]),
  cancel: schema("cancel", [
    ["market", symbol, "required"],
    ["orderId", orderId, "required"],
  ]),
  amend: schema(
    "amend",
    [
      ["market", symbol, "required"],
      ["orderId", orderId, "required"],
      ["price", price, "optional"],
      ["qty", qty, "optional"],
    ],
    ["price", "qty"],
  ),
  cancelAll: schema("cancelAll", [["market", symbol, "optional"]]),
  market: schema("market", [
    ["symbol", symbol, "required"],
    ["tickSize", price, "required"],
    ["lotSize", qty, "required"],
    ["minQty", qty, "required"],
    ["maxQty", qty, "required"],
    ["refPrice", price, "required"],
    ["bandBps", bps, "required"],
    ["state", oneOf(MARKET_STATES), () => "open"],
  ]),
  tick: schema("tick", []),
  query: schema("query", [
    ["market", symbol, "required"],
    ["orderId", orderId, "required"],
  ]),
};

export function isCommandKind(value: string): value is CommandKind {
  return Object.hasOwn(COMMAND_SCHEMAS, value);
}
