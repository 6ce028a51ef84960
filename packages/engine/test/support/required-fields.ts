import type { AnyCommand, CommandKind } from "../../src/types.js";

export type CommandOf<K extends CommandKind> = Extract<AnyCommand, { kind: K }>;

/**
 * The fields each command kind must carry, written out independently of
 * src/command-schema.ts so that the codec tests check the schema, not echo it.
 */
export const REQUIRED: { readonly [K in CommandKind]: readonly (keyof CommandOf<K> & string)[] } = {
  place: ["kind", "cmdId", "account", "market", "side", "type", "qty"],
  cancel: ["kind", "cmdId", "account", "market", "orderId"],
  amend: ["kind", "cmdId", "account", "market", "orderId"],
  cancelAll: ["kind", "cmdId", "account"],
  market: ["kind", "cmdId", "account", "symbol", "tickSize", "lotSize", "minQty", "maxQty", "refPrice", "bandBps"],
  tick: ["kind", "cmdId", "account"],
  query: ["kind", "cmdId", "account", "market", "orderId"],
};
