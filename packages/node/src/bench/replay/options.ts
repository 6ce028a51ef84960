/** `bourse bench replay`: its option table (the only place its flags exist; see cli/options.ts). */
import { UsageError, positiveInt, type OptionSpec } from "../../cli/options.js";

export const replayCommandsMax = 20_000_000;

/** `N` (a command number) or `P%` (of --commands); 0 means no snapshot. */
export type SnapshotAt = { percent: number } | { command: number };

function snapshotAt(raw: string, flag: string): SnapshotAt {
  const pct = /^([0-9]{1,2})%$/.exec(raw);
  if (pct) return { percent: Number(pct[1]) };
  if (raw === "0") return { command: 0 };
  try {
    return { command: positiveInt(replayCommandsMax)(raw, flag) };
  } catch {
    throw new UsageError(`${flag} must be a command number or a percentage below 100% (50%), got "${raw}"`);
  }
}

function seed(raw: string, flag: string): number {
  const n = /^(0x[0-9a-f]{1,8}|[0-9]{1,10})$/i.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new UsageError(`${flag} must be an integer from 0 to 0xffffffff, got "${raw}"`);
  return n;
}

export const seedOption = {
  name: "seed",
  argument: "S",
  description: "Seed of the generated commands (decimal or 0x hex)",
  default: "0x5eedb0b5",
  parse: seed,
} as const satisfies OptionSpec;

export const benchReplayOptions = [
  {
    name: "commands",
    argument: "N",
    description: "Commands written to one partition's log (BOURSE_IN), its markets' setup included",
    default: 1_000_000,
    parse: positiveInt(replayCommandsMax),
  },
  {
    name: "snapshot-at",
    argument: "N|P%",
    description: "Store a snapshot after this command (or this share of --commands); recovery replays the rest. 0: no snapshot, replay the whole log",
    default: "50%",
    parse: snapshotAt,
  },
  { name: "markets", argument: "M", description: "Markets in the partition (all hash to partition 0 of 64)", default: 8, parse: positiveInt(1_000) },
  { name: "accounts", argument: "A", description: "Trading accounts the commands come from", default: 1_000, parse: positiveInt(100_000) },
  seedOption,
  { name: "json", description: "Print exactly one JSON object on stdout (progress still goes to stderr)" },
] as const satisfies readonly OptionSpec[];

/** The command after which the snapshot is taken (0: none); a UsageError when it is not inside the log. */
export function resolveSnapshotAt(at: SnapshotAt, commands: number, setupCommands: number): number {
  const n = "percent" in at ? Math.floor((commands * at.percent) / 100) : at.command;
  if (n === 0) return 0;
  if (n < setupCommands || n >= commands)
    throw new UsageError(`--snapshot-at must fall after the ${setupCommands} market setup commands and before the last of --commands ${commands}, got command ${n}`);
  return n;
}
