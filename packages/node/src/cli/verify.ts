/**
 * `bourse verify`: the simulation's durable-state checks, against any cluster,
 * live or stopped, for an operator after an incident. Reads BOURSE_IN and
 * BOURSE_OUT of every partition and checks that output sequences have no gap
 * and no duplicate (5), every trade appears once (2), fills agree with order
 * quantities (3), every logged command has one outcome (1, as far as the log
 * shows: what clients were acknowledged only they know), and each partition's
 * output equals the reference model's replay of its command log (4).
 *
 * Exit codes: 0 all checks pass, 1 violations found or the state could not be
 * read, 2 bad command line.
 */
import { connectNats, isNatsConnectError } from "../connection.js";
import { isProvisionError, readClusterConfig } from "../provision.js";
import { jetstream } from "@nats-io/jetstream";
import { checkCluster } from "../verify/cluster-check.js";
import { describeViolation, VIOLATION_INVARIANT } from "../verify/violation.js";
import { authConfig, natsAuthOptions, natsOption, natsUrls } from "./cluster-options.js";
import { exitCodes, leafCommand, positiveInt, UsageError, type OptionSpec, type Parsed } from "./options.js";

function partitionNumber(raw: string, flag: string): number {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a partition number (0, 1, …), got "${raw}"`);
  return n;
}

export const verifyOptions = [
  { ...natsOption, parse: natsUrls },
  ...natsAuthOptions,
  { name: "partition", argument: "P", description: "Check only this partition (default: all)", parse: partitionNumber },
  { name: "violations", argument: "N", description: "Violations to list", default: 50, parse: positiveInt(1_000_000) },
  { name: "json", description: "Print one JSON object instead of the report" },
] as const satisfies readonly OptionSpec[];

export const verifyCommand = leafCommand({
  name: "verify",
  summary: "Check a cluster's durable state (command log and output) against every invariant and the reference model",
  options: verifyOptions,
  run: runVerify,
});

async function runVerify(o: Parsed<typeof verifyOptions>): Promise<number> {
  const fail = (message: string): number => {
    process.stderr.write(`bourse verify: ${message}\n`);
    return exitCodes.failed;
  };
  let nc;
  try {
    nc = await connectNats({ servers: o.nats, auth: authConfig(o) }, "bourse-verify");
  } catch (e) {
    if (isNatsConnectError(e)) return fail(`${e.message} (check --nats and the auth flags)`);
    throw e;
  }
  try {
    const { partitions } = await readClusterConfig(nc);
    if (o.partition !== undefined && o.partition >= partitions) return fail(`--partition ${o.partition} does not exist: the cluster has ${partitions} partitions (0..${partitions - 1})`);
    const started = performance.now();
    const only = o.partition !== undefined ? [o.partition] : undefined;
    const report = await checkCluster(jetstream(nc), partitions, [], only);
    const ms = Math.round(performance.now() - started);
    const byInvariant: Record<string, number> = {};
    for (const v of report.violations) {
      const k = `${VIOLATION_INVARIANT[v.check]}_${v.check}`;
      byInvariant[k] = (byInvariant[k] ?? 0) + 1;
    }
    const listed = report.violations.slice(0, o.violations).map(describeViolation);
    if (o.json) {
      process.stdout.write(JSON.stringify({
        passed: report.violations.length === 0, partitions: report.partitions.length, commands: report.commands, events: report.events,
        trades: report.trades, invariant_violations: report.violations.length, violations_by_invariant: byInvariant, violations: listed, ms,
      }) + "\n");
    } else {
      const lines = [
        `bourse verify: ${report.partitions.length} partitions, ${report.commands} commands, ${report.events} events, ${report.trades} trades checked in ${ms} ms`,
        report.violations.length === 0 ? "PASSED: every check holds" : `FAILED: ${report.violations.length} violations`,
        ...listed.map((l) => `  ${l}`),
      ];
      if (report.violations.length > listed.length) lines.push(`  … ${report.violations.length - listed.length} more (--violations N)`);
      process.stdout.write(lines.join("\n") + "\n");
    }
    return report.violations.length === 0 ? exitCodes.ok : exitCodes.failed;
  } catch (e) {
    if (isProvisionError(e)) return fail(`${o.nats.join(",")}: ${e.message}`);
    return fail(`could not read the durable state from ${o.nats.join(",")}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await nc.close().catch(() => {});
  }
}
