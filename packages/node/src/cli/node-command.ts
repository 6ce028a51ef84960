/**
 * `bourse node`: runs one cluster node in this process until SIGTERM/SIGINT,
 * then shuts it down gracefully (flush, snapshot, release leases, leave).
 */
import { BourseNode } from "../bourse-node.js";
import { isConfigError, resolveConfig, type NodeConfigInput } from "../config.js";
import { isNatsConnectError } from "../connection.js";
import { isProvisionError } from "../provision.js";
import { authConfig, failureTimeoutOption, natsAuthOptions, natsOption, serverList } from "./cluster-options.js";
import { exitCodes, leafCommand, nonNegativeInt, positiveInt, UsageError, type OptionSpec, type Parsed } from "./options.js";

const port = (raw: string, flag: string): number => {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n > 65_535) throw new UsageError(`${flag} must be a port number 0..65535, got "${raw}"`);
  return n;
};

export const nodeOptions = [
  natsOption,
  { name: "id", argument: "NAME", description: "Member id, unique in the cluster (letters, digits, - and _)" },
  { name: "partitions", argument: "P", description: "Partition count; must match the cluster's", default: 64, parse: positiveInt(4096) },
  { name: "http-port", argument: "PORT", description: "Port of /metrics, /healthz and /readyz (0: any free port)", default: 9464, parse: port },
  { name: "replicas", argument: "R", description: "Replicas of streams, buckets and the snapshot store", default: 1, parse: positiveInt(5) },
  ...natsAuthOptions,
  { name: "heartbeat-ms", argument: "MS", description: "Membership heartbeat interval", default: 100, parse: positiveInt(60_000) },
  failureTimeoutOption,
  { name: "snapshot-commands", argument: "N", description: "Snapshot a partition after this many commands", default: 10_000, parse: positiveInt(100_000_000) },
  { name: "snapshot-ms", argument: "MS", description: "... or, in the partition's slot of every such interval, when worth it (docs/operations.md, \"Tune snapshots\")", default: 5_000, parse: positiveInt(3_600_000) },
  {
    name: "rollback-spill-bytes", argument: "N",
    description: "A partition whose snapshot is at least N bytes keeps its rollback point in a file, not in memory (0: always in memory)",
    default: 1024 * 1024, parse: nonNegativeInt(2 ** 40),
  },
  { name: "rollback-dir", argument: "DIR", description: "Where the node makes its private directory for those files (default: the OS temp dir)" },
  { name: "batch-events", argument: "N", description: "Events per durable output batch at most", default: 1_000, parse: positiveInt(1_000_000) },
  { name: "flush-ms", argument: "MS", description: "Longest wait before a partial batch is published", default: 2, parse: positiveInt(10_000) },
  { name: "dev", description: "Development mode: allows the --test-* switches" },
  { name: "test-poison-prefix", argument: "PREFIX", description: "TEST ONLY: commands whose cmdId starts with PREFIX make their handler throw" },
  { name: "test-no-fencing", description: "TEST ONLY: publish output without the expected-sequence fence" },
  { name: "test-no-suppression", description: "TEST ONLY: republish already durable output after a takeover" },
  { name: "test-no-idempotency", description: "TEST ONLY: apply a repeated cmdId again instead of restating its outcome" },
] as const satisfies readonly OptionSpec[];

export const nodeCommand = leafCommand({
  name: "node",
  summary: "Run a cluster node until SIGTERM/SIGINT",
  options: nodeOptions,
  run: runNode,
});

export function nodeConfigInput(o: Parsed<typeof nodeOptions>): NodeConfigInput {
  if (o.id === undefined) throw new UsageError("--id is required: a member id unique in the cluster, e.g. --id node-1");
  return {
    id: o.id,
    servers: serverList(o.nats),
    partitions: o.partitions,
    httpPort: o["http-port"],
    replicas: o.replicas,
    auth: authConfig(o),
    heartbeatMsInterval: o["heartbeat-ms"],
    failureMsTimeout: o["failure-timeout-ms"],
    snapshotCommandsEvery: o["snapshot-commands"],
    snapshotMsEvery: o["snapshot-ms"],
    rollbackSpillBytes: o["rollback-spill-bytes"],
    ...(o["rollback-dir"] !== undefined ? { rollbackDir: o["rollback-dir"] } : {}),
    batchEventsMax: o["batch-events"],
    flushMsInterval: o["flush-ms"],
    production: !o.dev,
    testSwitches: {
      ...(o["test-poison-prefix"] ? { poisonCmdIdPrefix: o["test-poison-prefix"] } : {}),
      ...(o["test-no-fencing"] ? { noOutputFencing: true } : {}),
      ...(o["test-no-suppression"] ? { noOutputSuppression: true } : {}),
      ...(o["test-no-idempotency"] ? { noIdempotency: true } : {}),
    },
  };
}

async function runNode(o: Parsed<typeof nodeOptions>): Promise<number> {
  let node: BourseNode;
  try {
    node = await BourseNode.start(resolveConfig(nodeConfigInput(o)));
  } catch (e) {
    if (isConfigError(e) || isNatsConnectError(e) || isProvisionError(e)) {
      process.stderr.write(`bourse node: ${(e as Error).message}\n`);
      return exitCodes.failed;
    }
    throw e;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      node.log.info({ signal }, "signal received");
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      void node.shutdown().finally(resolve);
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
  return exitCodes.ok;
}
