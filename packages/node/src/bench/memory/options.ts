/** `bourse bench memory`: its option table (the only place its flags exist; see cli/options.ts). */
import { UsageError, nonNegativeInt, positiveInt, type OptionSpec } from "../../cli/options.js";
import { defaultNodeConfig } from "../../config.js";
import { seedOption } from "../replay/options.js";

export const memoryOrdersMax = 100_000_000;

export const benchMemoryOptions = [
  {
    name: "orders",
    argument: "N",
    description: "Orders that pass through the engine process in all: placed, then filled or cancelled (the first --resting stay)",
    default: 10_000_000,
    parse: positiveInt(memoryOrdersMax),
  },
  {
    name: "resting",
    argument: "N",
    description: "Orders resting in the book throughout (placed first, then kept at this count)",
    default: 1_000_000,
    parse: positiveInt(memoryOrdersMax),
  },
  {
    name: "node-orders",
    argument: "N",
    description: "Resting orders placed through NATS into a real `bourse node` process, to measure the node around the engine (0: skip)",
    default: 100_000,
    parse: nonNegativeInt(memoryOrdersMax),
  },
  {
    name: "snapshot-commands",
    argument: "N",
    description: "Engine process: snapshot every N commands, which clears the engine's journal as a node's snapshots do (a node's default is 10,000; 100,000 keeps the run near 5 minutes)",
    default: 100_000,
    parse: positiveInt(memoryOrdersMax),
  },
  {
    name: "rollback-spill-bytes",
    argument: "N",
    description: "Engine process: as the node's flag, a snapshot of at least N bytes is written to a file and the engine's rollback point drops it (0: kept in memory)",
    default: defaultNodeConfig.rollbackSpillBytes,
    parse: nonNegativeInt(2 ** 40),
  },
  { name: "accounts", argument: "A", description: "Trading accounts the orders come from", default: 1_000, parse: positiveInt(100_000) },
  seedOption,
  { name: "json", description: "Print exactly one JSON object on stdout (progress still goes to stderr)" },
] as const satisfies readonly OptionSpec[];

export function checkMemoryOptions(o: { orders: number; resting: number; accounts: number }): void {
  if (o.accounts < 2) throw new UsageError(`--accounts must be at least 2 (a fill's maker and taker differ), got ${o.accounts}`);
  if (o.resting > o.orders) throw new UsageError(`--resting (${o.resting}) must not exceed --orders (${o.orders})`);
}
