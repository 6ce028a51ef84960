/**
 * The flags of `bourse bench e2e`, one table (parsed, --help and the markdown
 * reference all come from it), and the fixed method constants that are not flags.
 */
import { PARTITIONS_MAX } from "../../partitioning.js";
import { positiveInt, UsageError, type OptionSpec, type Parsed } from "../../cli/options.js";

/** Where a node's CPU profile is written when --profile is given; a directory (created if missing). */
const profileDir = (raw: string, flag: string): string => {
  if (raw.trim() === "") throw new UsageError(`${flag} needs a directory, got ""`);
  return raw;
};

/** A fraction of the maximum rate, in (0, 1]. */
function fraction(raw: string, flag: string): number {
  const x = Number(raw.trim());
  if (raw.trim() === "" || !Number.isFinite(x) || x <= 0 || x > 1) throw new UsageError(`${flag} takes fractions of the maximum rate in (0, 1]; got ${JSON.stringify(raw)}`);
  return x;
}

/** A comma-separated list of fractions in (0, 1]; empty for none. */
function fractions(raw: string, flag: string): readonly number[] {
  return raw.split(",").filter((w) => w.trim() !== "").map((w) => fraction(w, flag));
}

export const benchE2eOptions = [
  { name: "duration", argument: "S", description: "Seconds measured per phase (raw limit, each rate step, latency)", default: 10, parse: positiveInt(3_600) },
  { name: "partitions", argument: "P", description: "Partition count of the benchmark cluster", default: 64, parse: positiveInt(PARTITIONS_MAX) },
  { name: "publishers", argument: "N", description: "Publisher connections (the same number in the raw and the end-to-end phases)", default: 4, parse: positiveInt(64) },
  { name: "window", argument: "W", description: "Publishes in flight per publisher: unacknowledged (raw), or not yet reported (end to end, closed loop)", default: 256, parse: positiveInt(100_000) },
  { name: "markets", argument: "M", description: "Markets the commands are spread over (uniformly)", default: 64, parse: positiveInt(10_000) },
  {
    name: "failure-timeout-ms",
    argument: "MS",
    description:
      "The nodes' failure timeout (bourse node --failure-timeout-ms); longer than the node's default so that a machine saturated by the benchmark itself does not make the nodes suspect each other and move partitions",
    default: 3_000,
    parse: positiveInt(600_000),
  },
  {
    name: "node-args",
    argument: "FLAGS",
    description: "More `bourse node` flags for every node, space-separated, to measure a tuning; give it with = (--node-args=\"--snapshot-ms 60000 --flush-ms 5\")",
    default: "",
    parse: (raw: string) => raw.split(" ").filter((w) => w !== ""),
  },
  {
    name: "latency-curve",
    argument: "FRACTIONS",
    description:
      "Also measure latency at these fractions of the maximum rate (comma-separated, each in (0, 1]; \"\" for none), one step each after the one at half the maximum: where p99 stands as the load falls",
    default: "0.25,0.125",
    parse: fractions,
  },
  {
    name: "profile",
    argument: "DIR",
    description: "Also run one more step at the maximum rate with every node under the V8 CPU profiler; write DIR/<node>.cpuprofile and print the top functions",
    parse: profileDir,
  },
  {
    name: "profile-at",
    argument: "FRACTION",
    description: "The profiled step's rate as a fraction of the maximum, in (0, 1] (0.5: where the latency is measured)",
    default: "1",
    parse: fraction,
  },
  { name: "json", description: "Print exactly one JSON object on stdout (progress still goes to stderr)" },
] as const satisfies readonly OptionSpec[];

export type BenchE2eOptions = Parsed<typeof benchE2eOptions>;

/** Fixed parts of the method (docs/benchmarks.md, "bench e2e"). */
export const E2E_METHOD = {
  nodes: 3,
  /** Not measured: before the raw phase and before the closed-loop probe (at most --duration). */
  warmupMs: 2_000,
  /** A rate step keeps up when, after publishing stops, every acknowledged command is reported within this long ... */
  drainMsBound: 500,
  /** ... (or this fraction of the step's duration, whichever is larger) ... */
  drainDurationFraction: 0.05,
  /** ... and the publishers managed this fraction of the scheduled commands (the window did not throttle them) ... */
  sendFractionMin: 0.97,
  /** ... and this fraction of the rate was reported within the step's time. */
  reportedFractionMin: 0.95,
  /** Longest wait for the reports of a step once publishing stopped; beyond it reports are missing. */
  drainMsTimeout: 60_000,
  /** The rate ladder: first step at the closed-loop throughput times this ... */
  ladderStart: 1.0,
  /** ... up by this factor while steps keep up (at most ladderUpsMax times) ... */
  ladderUp: 1.1,
  ladderUpsMax: 2,
  /** ... down by this factor while they do not (at most ladderDownsMax times). */
  ladderDown: 0.85,
  ladderDownsMax: 5,
  /** Pause between steps so one step's tail does not load the next (at most a quarter of --duration). */
  settleMs: 1_000,
  /** Accounts per publisher (reports go to bourse.evt.<account>). */
  accountsPerPublisher: 8,
  /** Partitions served and no ownership change for this long: the cluster is settled. */
  settledMs: 1_500,
  startMsTimeout: 60_000,
} as const;
