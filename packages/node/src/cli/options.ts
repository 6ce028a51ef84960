/**
 * The bourse CLI's vocabulary: one option table per command (name, description,
 * argument, default), the parser that applies a table with `util.parseArgs`,
 * and the renderers that turn the same tables into `--help` and into the
 * markdown reference (`bourse --help --markdown`). A flag exists only if it is
 * in a table, so help, docs and parsing cannot drift apart.
 */
import { parseArgs } from "node:util";
import { ORDER_TYPES, SIDES, STP_MODES, TIFS } from "@bourse/engine";
import { PARTITIONS_MAX } from "../partitioning.js";

/** What the process exit code says about the run. */
export const exitCodes = {
  ok: 0,
  /** The command ran and failed (a benchmark's sanity check, a child process that died). */
  failed: 1,
  /** Bad command line: nothing was run. */
  usage: 2,
  /** A bug in the CLI itself (EX_SOFTWARE). */
  internal: 70,
} as const;

/** A bad command line; its message is one line and names the offending flag or word. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "usage";
}

export interface OptionSpec {
  /** Long name without the dashes: `ops` is `--ops`. */
  readonly name: string;
  readonly description: string;
  /** Placeholder for the value in help (`N`); absent for boolean flags. */
  readonly argument?: string;
  /** Used when the flag is absent, and shown in help. Boolean flags default to false. */
  readonly default?: string | number | boolean;
  /** Checks and converts the raw value; throws UsageError naming `flag`. */
  readonly parse?: (raw: string, flag: string) => unknown;
}

type ValueOf<O extends OptionSpec> = O extends { parse: (raw: string, flag: string) => infer T }
  ? T
  : O extends { argument: string }
    ? string
    : boolean;

/** The parsed values of a table, keyed by option name. */
export type Parsed<T extends readonly OptionSpec[]> = {
  [O in T[number] as O["name"]]: O extends { default: unknown } ? ValueOf<O> : O extends { argument: string } ? ValueOf<O> | undefined : boolean;
};

/** A node of the command tree: a group (picks a subcommand) or a leaf (has options and runs). */
export interface Command {
  readonly name: string;
  /** One line, for the command lists. */
  readonly summary: string;
  readonly subcommands?: readonly Command[];
  readonly options?: readonly OptionSpec[];
  /** A leaf's body, given values already parsed and checked against `options`. */
  readonly run?: (values: Readonly<Record<string, unknown>>) => Promise<number>;
}

/** Declares a leaf command whose `run` sees its own table's value types. */
export function leafCommand<const T extends readonly OptionSpec[]>(c: {
  name: string;
  summary: string;
  options: T;
  run: (values: Parsed<T>) => Promise<number>;
}): Command {
  return { name: c.name, summary: c.summary, options: c.options, run: (v) => c.run(v as Parsed<T>) };
}

// ---------------------------------------------------------------------------
// Value parsers

/** Digits, optionally grouped with underscores (1_000_000). */
export function positiveInt(max: number): (raw: string, flag: string) => number {
  return (raw, flag) => {
    const n = /^[0-9]+(_[0-9]+)*$/.test(raw) ? Number(raw.replaceAll("_", "")) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${raw}"`);
    if (n > max) throw new UsageError(`${flag} must be at most ${max}, got "${raw}"`);
    return n;
  };
}

/** `all`, or a comma-separated list drawn from `choices`; returns the list. */
/** `positiveInt`, or 0. */
export function nonNegativeInt(max: number): (raw: string, flag: string) => number {
  return (raw, flag) => {
    if (/^0+$/.test(raw)) return 0;
    if (!/^[0-9]+(_[0-9]+)*$/.test(raw)) throw new UsageError(`${flag} must be an integer >= 0, got "${raw}"`);
    return positiveInt(max)(raw, flag);
  };
}

export function listOf<const C extends string>(choices: readonly C[]): (raw: string, flag: string) => C[] {
  return (raw, flag) => {
    if (raw === "all") return [...choices];
    const picked = raw.split(",");
    for (const p of picked)
      if (!(choices as readonly string[]).includes(p))
        throw new UsageError(`${flag} must be "all" or a comma-separated list of ${choices.join(", ")}, got "${raw}"`);
    return picked as C[];
  };
}

/** One of `choices`, exactly as spelled. */
export function choice<const C extends string>(choices: readonly C[]): (raw: string, flag: string) => C {
  return (raw, flag) => {
    if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`${flag} must be one of ${choices.join(", ")}, got "${raw}"`);
    return raw as C;
  };
}

/** A time as milliseconds since the epoch: digits, or an ISO 8601 date-time (2030-01-31T12:00:00Z). */
export function epochMs(raw: string, flag: string): number {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${flag} must be milliseconds since the epoch or an ISO date-time like 2030-01-31T12:00:00Z, got "${raw}"`);
  return n;
}

// ---------------------------------------------------------------------------
// The tables, one per command

/** Accepted by every command, group or leaf. */
export const helpOption = { name: "help", description: "Show help for this command" } as const satisfies OptionSpec;

/** Top level (`bourse [options]`), besides --help. */
export const globalOptions = [
  { name: "markdown", description: "With --help: print the reference of every command as markdown" },
] as const satisfies readonly OptionSpec[];

/**
 * Mirror packages/engine/bench (workloads.ts, and benchLimits in match.ts), which
 * checks its flags again; kept here so --help and the docs need no built engine.
 */
export const benchWorkloads = ["mixed", "deep", "many-markets", "crossing"] as const;
export const benchOpsMax = 20_000_000;
export const benchRoundsMax = 50;

export const benchMatchOptions = [
  {
    name: "ops",
    argument: "N",
    description: "Timed operations per workload (deep also builds a 50,000-order book first, untimed)",
    default: 1_000_000,
    parse: positiveInt(benchOpsMax),
  },
  {
    name: "workload",
    argument: "NAME",
    description: `Workloads to run: all, or a comma-separated list of ${benchWorkloads.join(", ")}`,
    default: "all",
    parse: listOf(benchWorkloads),
  },
  {
    name: "rounds",
    argument: "R",
    description: "Measured rounds per engine and workload, alternating ours/peer, after one warm-up round each",
    default: 3,
    parse: positiveInt(benchRoundsMax),
  },
  {
    name: "json",
    description: "Print exactly one JSON object on stdout (progress still goes to stderr)",
  },
] as const satisfies readonly OptionSpec[];

/** `bourse send <kind>`: connection and output flags, shared by every kind. */
export const sendTimeoutMsMax = 3_600_000;
const sendCommonOptions = [
  { name: "nats", argument: "URL", description: "NATS server URL(s), comma-separated (required)" },
  { name: "account", argument: "ACCOUNT", description: "Account the command is sent for (required)" },
  { name: "creds", argument: "FILE", description: "NATS credentials file (.creds) to authenticate with" },
  {
    name: "partitions",
    argument: "P",
    description: "Partition count of the cluster; read from KV bourse_cluster (key config) when absent",
    parse: positiveInt(PARTITIONS_MAX),
  },
  { name: "timeout-ms", argument: "MS", description: "Wait for the command's report, or the query's reply", default: 10_000, parse: positiveInt(sendTimeoutMsMax) },
  { name: "json", description: "Print one JSON object per line (events, order view or result) instead of readable lines" },
] as const satisfies readonly OptionSpec[];

const marketOption = { name: "market", argument: "MARKET", description: "Market symbol (required)" } as const satisfies OptionSpec;
const orderIdOption = { name: "order-id", argument: "ID", description: "Order id, from the order's accepted report (required)", parse: positiveInt(Number.MAX_SAFE_INTEGER) } as const satisfies OptionSpec;
const cmdIdOption = { name: "cmd-id", argument: "ID", description: "Idempotency key (default: a random UUID); send again with the same one to retry safely" } as const satisfies OptionSpec;
const priceOption = { name: "price", argument: "TICKS", description: "Limit price, an integer in the market's price unit", parse: positiveInt(Number.MAX_SAFE_INTEGER) } as const satisfies OptionSpec;

export const sendPlaceOptions = [
  ...sendCommonOptions,
  marketOption,
  { name: "side", argument: "SIDE", description: `${SIDES.join(" or ")} (required)`, parse: choice(SIDES) },
  { name: "type", argument: "TYPE", description: `Order type: ${ORDER_TYPES.join(" or ")}`, default: "limit", parse: choice(ORDER_TYPES) },
  { ...priceOption, description: "Limit price, an integer in the market's price unit (required for limit orders)" },
  { name: "qty", argument: "LOTS", description: "Quantity, an integer in the market's quantity unit (required)", parse: positiveInt(Number.MAX_SAFE_INTEGER) },
  { name: "tif", argument: "TIF", description: `Time in force: ${TIFS.join(", ")} (default GTC for limit, IOC for market)`, parse: choice(TIFS) },
  { name: "expire-at", argument: "TIME", description: "GTD expiry in log time: ms since the epoch, or an ISO date-time", parse: epochMs },
  { name: "post-only", description: "Reject the order instead of letting it take liquidity" },
  { name: "stp", argument: "MODE", description: `Self-trade prevention: ${STP_MODES.join(", ")} (default cancel_taker)`, parse: choice(STP_MODES) },
  { name: "protection-price", argument: "TICKS", description: "Worst price a market order may trade at (default: the band edge)", parse: positiveInt(Number.MAX_SAFE_INTEGER) },
  cmdIdOption,
] as const satisfies readonly OptionSpec[];

export const sendAmendOptions = [
  ...sendCommonOptions,
  marketOption,
  orderIdOption,
  { ...priceOption, description: "New limit price (loses time priority)" },
  { name: "qty", argument: "LOTS", description: "New open (remaining) quantity; lower keeps time priority", parse: positiveInt(Number.MAX_SAFE_INTEGER) },
  cmdIdOption,
] as const satisfies readonly OptionSpec[];

export const sendCancelOptions = [...sendCommonOptions, marketOption, orderIdOption, cmdIdOption] as const satisfies readonly OptionSpec[];

export const sendCancelAllOptions = [
  ...sendCommonOptions,
  { name: "market", argument: "MARKET", description: "Only this market (default: every market, one command per partition)" },
  cmdIdOption,
] as const satisfies readonly OptionSpec[];

export const sendQueryOptions = [...sendCommonOptions, marketOption, orderIdOption] as const satisfies readonly OptionSpec[];

// ---------------------------------------------------------------------------
// Parsing

/**
 * Applies `table` (plus --help) to `argv` strictly: unknown flags, missing or
 * extra values and positional words are UsageErrors naming what was wrong.
 */
export function parseOptions<const T extends readonly OptionSpec[]>(
  path: string,
  table: T,
  argv: readonly string[],
): Parsed<T> & { help: boolean } {
  const config: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const o of table) config[o.name] = { type: o.argument === undefined ? "boolean" : "string" };
  let raw: Record<string, string | boolean | undefined>;
  try {
    raw = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: false }).values as typeof raw;
  } catch (e) {
    throw new UsageError(describeParseError(path, table, e));
  }
  const help = raw.help === true;
  const values: Record<string, unknown> = { help };
  for (const o of table) {
    const v = raw[o.name];
    if (o.argument === undefined) values[o.name] = v === true;
    // --help wins over bad values: `--ops abc --help` still shows the help.
    else if (help) continue;
    else if (typeof v === "string") values[o.name] = o.parse ? o.parse(v, `--${o.name}`) : v;
    else values[o.name] = o.default !== undefined && o.parse ? o.parse(String(o.default), `--${o.name}`) : o.default;
  }
  return values as Parsed<T> & { help: boolean };
}

/** util.parseArgs' errors, reworded to one line that names the flag and the command. */
function describeParseError(path: string, table: readonly OptionSpec[], e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const flag = quoted.split(" ")[0] ?? quoted;
  const spec = table.find((o) => `--${o.name}` === flag);
  const see = `(see ${path} --help)`;
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${flag} for ${path} ${see}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument "${quoted}" for ${path} ${see}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (spec?.argument !== undefined) return `${flag} needs a value (${spec.argument}) ${see}`;
      if (spec !== undefined || flag === "--help" || flag === "-h") return `${flag} takes no value ${see}`;
      return `${message.split("\n")[0]} ${see}`;
    default:
      return `${message.split("\n")[0]} ${see}`;
  }
}

// ---------------------------------------------------------------------------
// Rendering: --help and the markdown reference

function flagText(o: OptionSpec): string {
  return o.argument === undefined ? `--${o.name}` : `--${o.name} ${o.argument}`;
}

function defaultText(o: OptionSpec): string {
  if (o.default === undefined) return "";
  if (typeof o.default !== "number") return String(o.default);
  // Grouped the way the parser accepts them back: 1_000_000.
  return String(o.default).replace(/\B(?=(\d{3})+$)/g, "_");
}

function columns(rows: readonly [string, string][]): string[] {
  const width = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
}

/** `--help` of a leaf command. */
export function renderLeafHelp(path: string, c: Command): string {
  const table: readonly OptionSpec[] = [...(c.options ?? []), helpOption];
  const rows = table.map((o): [string, string] => {
    const d = defaultText(o);
    return [o.name === "help" ? "-h, --help" : flagText(o), d === "" ? o.description : `${o.description} (default: ${d})`];
  });
  return [`Usage: ${path} [options]`, "", c.summary, "", "Options:", ...columns(rows), ""].join("\n");
}

/** `--help` of a group (or of the whole CLI): its subcommands, then its options. */
export function renderGroupHelp(path: string, c: Command, options: readonly OptionSpec[] = []): string {
  const leaves = flatten(path, c);
  const commandRows = leaves.map(([p, leaf]): [string, string] => [p.slice(path.length + 1), leaf.summary]);
  const table: readonly OptionSpec[] = [...options, helpOption];
  const optionRows = table.map((o): [string, string] => [
    o.name === "help" ? "-h, --help" : flagText(o),
    o.description,
  ]);
  return [
    `Usage: ${path} <command> [options]`,
    "",
    c.summary,
    "",
    "Commands:",
    ...columns(commandRows),
    "",
    "Options:",
    ...columns(optionRows),
    "",
    `Run '${path} <command> --help' for the options of a command.`,
    "",
  ].join("\n");
}

/** Every leaf under `c` with its full path ("bourse bench match"). */
export function flatten(path: string, c: Command): [string, Command][] {
  if (c.subcommands === undefined) return [[path, c]];
  return c.subcommands.flatMap((s) => flatten(`${path} ${s.name}`, s));
}

/** The reference of every leaf command, as markdown; generated, so it stays true. */
export function renderMarkdown(root: Command, path = "bourse"): string {
  const out = [
    "# `bourse` command reference",
    "",
    `<!-- Generated by \`${path} --help --markdown\` from packages/node/src/cli/options.ts. Do not edit by hand. -->`,
    "",
  ];
  for (const [p, leaf] of flatten(path, root)) {
    out.push(`## \`${p}\``, "", leaf.summary, "", "| Option | Argument | Default | Description |", "| --- | --- | --- | --- |");
    const table: readonly OptionSpec[] = [...(leaf.options ?? []), helpOption];
    for (const o of table) {
      const d = defaultText(o);
      out.push(`| \`--${o.name}\` | ${o.argument ?? ""} | ${d === "" ? "" : `\`${d}\``} | ${o.description.replaceAll("|", "\\|")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}
