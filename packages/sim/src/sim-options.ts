/**
 * `bourse sim`'s flags, as one option table: parsing, --help, the markdown
 * reference and the reproduce command all come from it.
 */
import { positiveInt, UsageError, type OptionSpec, type Parsed } from "@bourse/node/cli";
import { DEFAULT_MIX, type FaultMix } from "./fault-schedule.js";

/** A decimal number ≥ 0 (seconds may be fractional: --mttr 0.5). */
export function nonNegativeNumber(max: number): (raw: string, flag: string) => number {
  return (raw, flag) => {
    const n = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number ≥ 0, got "${raw}"`);
    if (n > max) throw new UsageError(`${flag} must be at most ${max}, got "${raw}"`);
    return n;
  };
}

/** kill=2,pause=1,restart=1: relative weights of the node faults. */
export function faultMix(raw: string, flag: string): FaultMix {
  const mix: FaultMix = { kill: 0, pause: 0, restart: 0 };
  for (const part of raw.split(",")) {
    const m = /^(kill|pause|restart)=([0-9]+(\.[0-9]+)?)$/.exec(part);
    if (m === null) throw new UsageError(`${flag} must look like kill=2,pause=1,restart=1 (weights ≥ 0), got "${raw}"`);
    mix[m[1] as keyof FaultMix] = Number(m[2]);
  }
  if (mix.kill + mix.pause + mix.restart <= 0) throw new UsageError(`${flag} needs at least one positive weight, got "${raw}"`);
  return mix;
}

export function seedValue(raw: string, flag: string): number {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new UsageError(`${flag} must be an integer in 0..4294967295, got "${raw}"`);
  return n;
}

function natsServers(raw: string, flag: string): 1 | 3 {
  if (raw === "1" || raw === "3") return Number(raw) as 1 | 3;
  throw new UsageError(`${flag} must be 1 (one server) or 3 (a JetStream cluster), got "${raw}"`);
}

const mixText = `kill=${DEFAULT_MIX.kill},pause=${DEFAULT_MIX.pause},restart=${DEFAULT_MIX.restart}`;

export const simOptions = [
  { name: "nodes", argument: "N", description: "Engine nodes (real `bourse node` processes)", default: 3, parse: positiveInt(16) },
  { name: "publishers", argument: "M", description: "Concurrent publishers, each with its own connection and accounts", default: 4, parse: positiveInt(64) },
  { name: "markets", argument: "K", description: "Markets the load spreads over", default: 12, parse: positiveInt(1_000) },
  { name: "partitions", argument: "P", description: "Partitions of the cluster", default: 16, parse: positiveInt(1_024) },
  { name: "rate", argument: "R", description: "Commands per second over all publishers (open loop)", default: 300, parse: positiveInt(100_000) },
  { name: "duration", argument: "S", description: "Seconds of load (faults happen during it)", default: 30, parse: positiveInt(86_400) },
  { name: "commands", argument: "C", description: "Stop after C commands instead (the fault schedule spans C/R seconds)", parse: positiveInt(100_000_000) },
  { name: "seed", argument: "N", description: "Seed of the workload and the fault schedule (default: random, printed)", parse: seedValue },
  { name: "mtbf", argument: "S", description: "Mean seconds between faults of one node while it is up (0 = no faults)", default: 15, parse: nonNegativeNumber(86_400) },
  { name: "mttr", argument: "S", description: "Mean seconds a faulted node or server stays down", default: 3, parse: nonNegativeNumber(3_600) },
  { name: "fault-mix", argument: "MIX", description: "Relative weights of node faults: kill -9, SIGSTOP, graceful restart", default: mixText, parse: faultMix },
  { name: "nats-cluster", argument: "N", description: "NATS servers: 1, or 3 for a JetStream cluster (streams at 3 replicas)", default: "1", parse: natsServers },
  { name: "nats-faults", description: "With --nats-cluster 3: kill -9 and restart NATS servers too (never two at once)" },
  { name: "nats-mtbf", argument: "S", description: "Mean seconds between faults of one NATS server", default: 20, parse: nonNegativeNumber(86_400) },
  { name: "nats", argument: "URL", description: "Use this running JetStream (fresh, or streams will fail the checks) instead of starting nats-server" },
  { name: "snapshot-commands", argument: "N", description: "Nodes snapshot a partition every N commands (small, so recoveries use snapshots)", default: 500, parse: positiveInt(10_000_000) },
  { name: "drain-timeout", argument: "S", description: "Seconds to wait, after the load, for the output to cover every acknowledged command", default: 60, parse: positiveInt(3_600) },
  { name: "keep", description: "Keep the work dir (node logs) even when the run passes" },
  { name: "json", description: "Print one JSON object instead of the report (progress still goes to stderr)" },
  { name: "no-progress", description: "No progress display" },
  { name: "test-no-fencing", description: "BROKEN BUILD: nodes publish output without fencing (the checker must fail)" },
  { name: "test-no-suppression", description: "BROKEN BUILD: nodes republish durable output after a takeover (the checker must fail)" },
  { name: "test-no-idempotency", description: "BROKEN BUILD: nodes apply a repeated cmdId again (the checker must fail)" },
] as const satisfies readonly OptionSpec[];

export type SimFlags = Parsed<typeof simOptions>;

/** The broken-build switches, as `bourse node` flags. */
export const BROKEN_BUILD_FLAGS = ["test-no-fencing", "test-no-suppression", "test-no-idempotency"] as const;

/** The command line that reproduces a run: every flag that shapes it, with the seed. */
export function reproduceCommand(o: SimFlags, seed: number): string {
  const parts = ["pnpm bourse sim", `--seed ${seed}`];
  const valued = ["nodes", "publishers", "markets", "partitions", "rate", "mtbf", "mttr", "nats-cluster", "nats-mtbf", "snapshot-commands"] as const;
  for (const k of valued) parts.push(`--${k} ${String(o[k])}`);
  parts.push(o.commands !== undefined ? `--commands ${o.commands}` : `--duration ${o.duration}`);
  parts.push(`--fault-mix kill=${o["fault-mix"].kill},pause=${o["fault-mix"].pause},restart=${o["fault-mix"].restart}`);
  if (o["nats-faults"]) parts.push("--nats-faults");
  if (o.nats !== undefined) parts.push(`--nats ${o.nats}`);
  for (const f of BROKEN_BUILD_FLAGS) if (o[f]) parts.push(`--${f}`);
  return parts.join(" ");
}

/** Flag combinations that parse but make no sense; the message names the flags. */
export function checkCombinations(o: SimFlags): void {
  if (o["nats-faults"] && o["nats-cluster"] !== 3) throw new UsageError("--nats-faults needs --nats-cluster 3 (a lone server's crash is a total outage, not a fault to survive)");
  if (o["nats-faults"] && o.nats !== undefined) throw new UsageError("--nats-faults cannot kill servers it did not start (--nats)");
  if (o.nats !== undefined && o["nats-cluster"] !== 1) throw new UsageError("--nats and --nats-cluster exclude each other");
  if (o.publishers > o.rate) throw new UsageError(`--rate ${o.rate} is below one command per second per publisher (--publishers ${o.publishers})`);
}
