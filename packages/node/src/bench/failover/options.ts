/**
 * The flags of `bourse bench failover`, one table (parsed, --help and the markdown
 * reference all come from it), and the fixed method constants that are not flags.
 */
import { PARTITIONS_MAX } from "../../partitioning.js";
import { positiveInt, type OptionSpec, type Parsed } from "../../cli/options.js";

export const benchFailoverOptions = [
  { name: "trials", argument: "T", description: "Trials of each kind: kill -9 (failover), then SIGTERM (graceful handoff); at least 10 for the figures", default: 10, parse: positiveInt(1_000) },
  { name: "partitions", argument: "P", description: "Partition count of the benchmark cluster", default: 64, parse: positiveInt(PARTITIONS_MAX) },
  { name: "orders", argument: "N", description: "Live (resting, non-crossing) orders loaded before the trials, spread over every partition", default: 100_000, parse: positiveInt(10_000_000) },
  { name: "nodes", argument: "N", description: "Node processes (`bourse node`)", default: 3, parse: positiveInt(16) },
  { name: "json", description: "Print exactly one JSON object on stdout (progress still goes to stderr)" },
] as const satisfies readonly OptionSpec[];

export type BenchFailoverOptions = Parsed<typeof benchFailoverOptions>;

/** Fixed parts of the method (docs/benchmarks.md, "bench failover"). */
export const FAILOVER_METHOD = {
  /** Markets per partition the orders spread over (round robin over all markets). */
  marketsPerPartition: 8,
  /** Accounts the orders come from. */
  accounts: 100,
  /** Acknowledged JetStream publishes in flight while loading. */
  loadWindow: 256,
  /** Resting prices: buys refPrice − depthLevels .. refPrice − 1, sells refPrice + 1 .. refPrice + depthLevels (never cross). */
  refPrice: 1_000,
  depthLevels: 100,
  /** The probe orders rest below every loaded buy. */
  probePrice: 850,
  probeAccount: "bench-probe",
  /** Period of the outside client's query poll per moved partition. */
  pollMs: 5,
  /** A moved partition not served again within this long counts as unrecovered. */
  trialMsTimeout: 30_000,
  /** Start-up until every partition is served; waits for the load to be durable and for the cluster to be balanced again. */
  startMsTimeout: 120_000,
  loadMsTimeout: 300_000,
  balanceMsTimeout: 60_000,
  /** After the cluster is balanced and every output covers its log, wait this long before the next signal. */
  settleMs: 1_000,
  /** The nodes' defaults, printed with the results. */
  heartbeatMs: 100,
  failureMsTimeout: 600,
  /** Targets of issue 6, shown next to the figures (never asserted). */
  recoveryMsP99Target: 1_000,
  handoffMsP99Target: 300,
} as const;
