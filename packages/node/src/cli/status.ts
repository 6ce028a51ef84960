/**
 * `bourse status`: the cluster as NATS holds it, for an operator: members and
 * who is live, the agreed owner and the lease holder of every partition (and
 * where they disagree), each partition's lag, the last owner changes, and the
 * server's version warnings. It reads NATS only, never the nodes' HTTP, so it
 * works from anywhere the cluster's NATS servers are reachable.
 *
 * Exit codes: 0 when the state could be read (problems or not; they are in the
 * output), 1 when it could not (NATS unreachable or refusing us, no JetStream,
 * never provisioned, a read timed out), 2 for a bad command line.
 */
import { connectNats, isNatsConnectError, type NatsConnectError } from "../connection.js";
import { isProvisionError } from "../provision.js";
import { isStatusReadError, StatusReadError } from "../status/read-error.js";
import { readClusterStatus } from "../status/read-status.js";
import { renderStatus } from "../status/render.js";
import { authConfig, failureTimeoutOption, natsAuthOptions, natsOption, natsUrls } from "./cluster-options.js";
import { exitCodes, leafCommand, positiveInt, type OptionSpec, type Parsed } from "./options.js";

export const statusOptions = [
  { ...natsOption, parse: natsUrls },
  ...natsAuthOptions,
  {
    ...failureTimeoutOption,
    description: "A member whose next heartbeat does not arrive within this long is shown as not live; use the nodes' value",
  },
  { name: "changes", argument: "N", description: "Owner changes to list, newest first", default: 10, parse: positiveInt(10_000) },
  { name: "timeout-ms", argument: "MS", description: "Give up when the state cannot be read within this long", default: 15_000, parse: positiveInt(600_000) },
  { name: "json", description: "Print one JSON object (the whole status) instead of tables" },
] as const satisfies readonly OptionSpec[];

export const statusCommand = leafCommand({
  name: "status",
  summary: "Show the cluster read from NATS: members, partition owners and leases, lag, last failovers, server warnings",
  options: statusOptions,
  run: runStatus,
});

async function runStatus(o: Parsed<typeof statusOptions>): Promise<number> {
  const fail = (message: string): number => {
    process.stderr.write(`bourse status: ${message.replace(/\s*\n\s*/g, " ")}\n`);
    return exitCodes.failed;
  };
  let nc;
  try {
    nc = await connectNats({ servers: o.nats, auth: authConfig(o) }, "bourse-status");
  } catch (e) {
    if (isNatsConnectError(e)) return fail(`${e.message} (${flagsToCheck(e)})`);
    throw e;
  }
  const timeoutMs = o["timeout-ms"];
  let timer: NodeJS.Timeout | undefined;
  try {
    const reading = readClusterStatus(nc, { failureMsTimeout: o["failure-timeout-ms"], ownerChangesMax: o.changes });
    reading.catch(() => {}); // after a timeout nobody awaits it, and closing the connection makes it fail
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StatusReadError("timeout", `could not read the cluster's state within ${timeoutMs} ms (--timeout-ms)`)), timeoutMs);
    });
    const status = await Promise.race([reading, deadline]);
    process.stdout.write(o.json ? `${JSON.stringify(status)}\n` : renderStatus(status));
    return exitCodes.ok;
  } catch (e) {
    const server = o.nats.join(",");
    if (isProvisionError(e) && e.code === "cluster_not_provisioned") {
      return fail(`no Bourse cluster on ${server}: it was never provisioned (${e.resource} is missing); start a node with --nats ${server} first`);
    }
    if (isStatusReadError(e) && e.code === "no_jetstream") return fail(e.message);
    if (isProvisionError(e) || isStatusReadError(e)) return fail(`${server}: ${e.message}`);
    throw e;
  } finally {
    clearTimeout(timer);
    await nc.close().catch(() => {});
  }
}

function flagsToCheck(e: NatsConnectError): string {
  switch (e.code) {
    case "auth_failed":
      return "check --user/--password, --token or --creds";
    case "tls_failed":
      return "check --tls-ca, --tls-cert, --tls-key and the scheme of --nats";
    case "bad_credentials_file":
      return "check --creds";
    default:
      return "check --nats";
  }
}
