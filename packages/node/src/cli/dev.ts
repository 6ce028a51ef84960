/**
 * `bourse dev`: a local cluster with demo load, for trying Bourse out
 * (`pnpm start`). The run, stage by stage:
 *
 *   0. leftovers: a crashed previous run's nodes and server (from pids.json)
 *      are stopped; a live run on the same data dir is refused.
 *   1. NATS: a local nats-server with JetStream storing in <data>/nats, or
 *      the server of --nats.
 *   2. partitions: a resumed cluster keeps the count it was created with.
 *   3. nodes: node-1..node-N, real `bourse node` processes, until each has
 *      logged "node started".
 *   4. markets: account admin defines the demo markets; wait until each
 *      answers a depth query.
 *   5. load: demo accounts place, cross and cancel limit orders at --rate.
 *   6. status: a line per node every second, until Ctrl-C, SIGTERM or
 *      --duration.
 *   7. stop: load, then nodes (SIGTERM, SIGKILL after 10 s), then nats-server,
 *      by pid. The next run resumes from the same data dir.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { BourseClient } from "../client/bourse-client.js";
import { connectNats } from "../connection.js";
import { ADMIN_ACCOUNT, DEMO_ACCOUNTS, DemoLoad, defineMarkets, demoMarkets, waitMarkets } from "../dev/demo-load.js";
import { DevError, isDevError, throwIfStopped } from "../dev/errors.js";
import { devLimits } from "../dev/limits.js";
import { describeExit, findNatsServer, installHint, NATS_HOST, portFree, startLocalNats } from "../dev/local-nats.js";
import { NodeFleet, type FleetNode } from "../dev/node-fleet.js";
import { PidFile, readLeftovers, stopLeftovers } from "../dev/pid-file.js";
import { DevSession } from "../dev/session.js";
import { StatusBoard } from "../dev/status-line.js";
import { isProvisionError, readClusterConfig } from "../provision.js";
import { exitCodes, leafCommand, positiveInt, UsageError, type OptionSpec, type Parsed } from "./options.js";

/** A port number, 1..65535, or 0..65535 when 0 means "any free port". */
const portNumber =
  (allowZero: boolean) =>
  (raw: string, flag: string): number => {
    const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
    const min = allowZero ? 0 : 1;
    if (!Number.isInteger(n) || n < min || n > 65_535) throw new UsageError(`${flag} must be a port number ${min}..65535, got "${raw}"`);
    return n;
  };

/** Like positiveInt, and 0 is allowed. */
const countOrZero =
  (max: number) =>
  (raw: string, flag: string): number =>
    raw === "0" ? 0 : positiveInt(max)(raw, flag);

export const DEV_DEFAULT_PARTITIONS = 16;
export const DEV_DATA_DIR = ".bourse";

export const devOptions = [
  { name: "nodes", argument: "N", description: "Node processes to run (node-1..node-N)", default: 3, parse: positiveInt(devLimits.nodesMax) },
  {
    name: "partitions",
    argument: "P",
    description: `Partition count of a new cluster (default ${DEV_DEFAULT_PARTITIONS}); a resumed cluster keeps the count it was created with`,
    parse: positiveInt(devLimits.partitionsMax),
  },
  { name: "rate", argument: "R", description: "Demo load in commands per second (0: no load)", default: 50, parse: countOrZero(devLimits.rateMax) },
  { name: "markets", argument: "N", description: "Demo markets SKU-1..SKU-N", default: 8, parse: positiveInt(devLimits.marketsMax) },
  { name: "port", argument: "PORT", description: `Client port of the local nats-server, on ${NATS_HOST}`, default: "4333", parse: portNumber(false) },
  { name: "http-port", argument: "PORT", description: "node-i serves /metrics, /healthz and /readyz on PORT+i-1 (0: any free port)", default: "9464", parse: portNumber(true) },
  { name: "data", argument: "DIR", description: `Data folder: NATS store, logs, pids.json (default: ${DEV_DATA_DIR} at the repo root)` },
  { name: "nats", argument: "URL", description: "Use this NATS server (JetStream on) instead of starting one; --port is then unused" },
  { name: "duration", argument: "S", description: "Stop after S seconds of load; exit 0 only if all was healthy (for CI)", parse: positiveInt(devLimits.durationSecondsMax) },
] as const satisfies readonly OptionSpec[];

type DevFlags = Parsed<typeof devOptions>;

export const devCommand = leafCommand({
  name: "dev",
  summary: "Run a local cluster (nats-server + N nodes) with demo load until Ctrl-C",
  options: devOptions,
  run: runDev,
});

interface Plan {
  dataDir: string;
  /** undefined: start a local server. */
  externalNats: string | undefined;
  port: number;
  nodes: number;
  rate: number;
  markets: string[];
  httpPortBase: number;
  partitionsFlag: number | undefined;
  durationMs: number | undefined;
}

async function runDev(o: DevFlags): Promise<number> {
  const plan = planOf(o);
  if (o.nats === undefined && findNatsServer() === undefined) {
    process.stderr.write(`bourse dev: ${installHint()}\n`);
    return exitCodes.failed;
  }
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  try {
    mkdirSync(plan.dataDir, { recursive: true });
  } catch (e) {
    process.stderr.write(`bourse dev: cannot create the data dir ${plan.dataDir}: ${(e as Error).message}\n`);
    return exitCodes.failed;
  }
  // While the status block is live, messages go above it (a terminal's block is redrawn below them).
  const note = (l: string): void => (session.board ? session.board.note(l) : say(l));
  const session = new DevSession(new PidFile(plan.dataDir), note);
  const stop = new StopRequest(note, () => session.forceKill());
  const problems: string[] = [];
  try {
    const up = await bringUp(plan, session, say, stop.signal);
    problems.push(...(await serve(plan, session, up, stop, say)));
  } catch (e) {
    if (!isDevError(e)) throw e;
    if (e.code !== "interrupted") problems.push(e.message);
  } finally {
    problems.push(...(await session.stop()));
    stop.dispose();
  }
  if (problems.length === 0) {
    const kept = plan.externalNats === undefined ? `data kept in ${show(plan.dataDir)}` : `streams kept on ${plan.externalNats}, logs in ${show(plan.dataDir)}`;
    say(`bourse dev: stopped; ${kept} (run again to resume)`);
    return exitCodes.ok;
  }
  process.stderr.write(`bourse dev: ${problems.length === 1 ? problems[0] : `\n${problems.map((p) => `  - ${p}`).join("\n")}`}\n`);
  return exitCodes.failed;
}

function planOf(o: DevFlags): Plan {
  const dataDir = resolve(o.data ?? join(repoRoot(), DEV_DATA_DIR));
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) throw new UsageError(`--data must be a directory, got the file ${dataDir}`);
  if (o.nats !== undefined && o.nats.trim() === "") throw new UsageError("--nats needs a URL, e.g. nats://127.0.0.1:4222");
  return {
    dataDir,
    externalNats: o.nats?.trim(),
    port: o.port,
    nodes: o.nodes,
    rate: o.rate,
    markets: demoMarkets(o.markets),
    httpPortBase: o["http-port"],
    partitionsFlag: o.partitions,
    durationMs: o.duration === undefined ? undefined : o.duration * 1_000,
  };
}

/** The folder holding pnpm-workspace.yaml above this file (the repo), else the working directory. */
function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** A path as the user would type it from here. */
function show(path: string): string {
  const r = relative(process.cwd(), path);
  return r === "" ? "." : r.startsWith("..") ? path : r;
}

// ---------------------------------------------------------------------------
// Stages 0-5

interface Up {
  natsUrl: string;
  partitions: number;
  fleet: NodeFleet;
}

async function bringUp(plan: Plan, session: DevSession, say: (l: string) => void, signal: AbortSignal): Promise<Up> {
  // 0. leftovers
  await clearLeftovers(plan, say);
  session.pidFile.add({ role: "supervisor", name: "bourse dev", pid: process.pid, match: ["dev"], contains: ["bourse"] });
  // 1. NATS
  const natsUrl = plan.externalNats ?? (await startNats(plan, session, say, signal));
  throwIfStopped(signal, "connecting to NATS");
  session.nc = await connectOrFail(natsUrl);
  // 2. partitions
  const partitions = await partitionCount(plan, session, natsUrl);
  // 3. nodes
  await checkHttpPorts(plan);
  say(`starting ${plan.nodes} node${plan.nodes === 1 ? "" : "s"} with ${partitions} partitions (logs: ${show(join(plan.dataDir, "node-<i>.log"))})...`);
  const fleet = await NodeFleet.start(
    { nats: natsUrl, nodes: plan.nodes, partitions, httpPortBase: plan.httpPortBase, dataDir: plan.dataDir },
    (n: FleetNode) => session.adopt(n.process, "node", { match: [`--id ${n.id}`, `--nats ${natsUrl}`], contains: ["bourse"] }),
    signal,
  );
  // 4. markets
  say(`defining demo markets ${plan.markets[0]}..${plan.markets[plan.markets.length - 1]} (account ${ADMIN_ACCOUNT})...`);
  const nc = session.nc;
  try {
    await defineMarkets(jetstream(nc), partitions, plan.markets);
  } catch (e) {
    throw new DevError("markets_failed", `cannot publish the demo market definitions: ${(e as Error).message}`, { cause: e });
  }
  const admin = await BourseClient.fromConnection(nc, { account: ADMIN_ACCOUNT, partitions });
  // Only its depth queries matter; a report problem of account admin must not print warnings over the status.
  admin.onError(() => {});
  session.clients.push(admin);
  await waitMarkets(admin, plan.markets, signal);
  // 5. load clients (fromConnection only subscribes: the connection is up, so it does not fail on its own)
  for (const account of DEMO_ACCOUNTS) session.clients.push(await BourseClient.fromConnection(nc, { account, partitions }));
  session.load = new DemoLoad(session.clients.slice(1), plan.markets, plan.rate);
  return { natsUrl, partitions, fleet };
}

async function clearLeftovers(plan: Plan, say: (l: string) => void): Promise<void> {
  const left = readLeftovers(plan.dataDir);
  if (left.supervisor !== undefined) {
    const pid = left.supervisor.pid;
    throw new DevError("busy", `another bourse dev (pid ${pid}) is running with data dir ${show(plan.dataDir)}; stop it first (Ctrl-C in its terminal, or kill ${pid}), or pass another --data`);
  }
  for (const r of left.reused) say(`note: pid ${r.pid} in ${show(join(plan.dataDir, "pids.json"))} (${r.name}) now belongs to another program; leaving it alone`);
  if (left.processes.length === 0) return;
  say(`a previous bourse dev did not stop cleanly; stopping what it left running:`);
  if (!(await stopLeftovers(left.processes, say))) {
    throw new DevError("leftovers", `could not stop the processes left by a previous run (see ${show(join(plan.dataDir, "pids.json"))})`);
  }
}

async function startNats(plan: Plan, session: DevSession, say: (l: string) => void, signal: AbortSignal): Promise<string> {
  const bin = findNatsServer()!;
  if (!(await portFree(plan.port))) {
    throw new DevError(
      "port_in_use",
      `port ${plan.port} on ${NATS_HOST} is in use by another program (not a nats-server of bourse dev for ${show(plan.dataDir)}); ` +
        `pass --port to start ours elsewhere, or --nats URL to use a server you run`,
    );
  }
  const storeDir = join(plan.dataDir, "nats");
  const logFile = join(plan.dataDir, "nats.log");
  say(`starting nats-server on ${NATS_HOST}:${plan.port} (JetStream store ${show(storeDir)}, log ${show(logFile)})...`);
  const nats = await startLocalNats({ bin, port: plan.port, storeDir, logFile }, (p) => session.adopt(p, "nats", { match: [`-p ${plan.port}`, `-sd ${storeDir}`], contains: [basename(bin)] }), signal);
  return nats.url;
}

async function connectOrFail(url: string): Promise<NatsConnection> {
  try {
    const nc = await connectNats({ servers: url.split(",").map((s) => s.trim()), auth: {} }, "bourse-dev");
    try {
      await jetstreamManager(nc);
    } catch (e) {
      await nc.close().catch(() => {});
      throw new DevError("nats_failed", `NATS at ${url} does not answer JetStream requests (${(e as Error).message}); is JetStream enabled (-js)?`, { cause: e });
    }
    return nc;
  } catch (e) {
    if (isDevError(e)) throw e;
    throw new DevError("nats_failed", (e as Error).message, { cause: e });
  }
}

/** The cluster's own count if the data already holds one; a --partitions that disagrees is an error, not a silent change. */
async function partitionCount(plan: Plan, session: DevSession, url: string): Promise<number> {
  let existing: number | undefined;
  try {
    existing = (await readClusterConfig(session.nc!)).partitions;
  } catch (e) {
    if (!(isProvisionError(e) && e.code === "cluster_not_provisioned") && !isStreamMissing(e)) throw new DevError("nats_failed", `cannot read the cluster config at ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (existing === undefined) return plan.partitionsFlag ?? DEV_DEFAULT_PARTITIONS;
  if (plan.partitionsFlag !== undefined && plan.partitionsFlag !== existing) {
    const [where, fresh] = plan.externalNats === undefined ? [`the data in ${show(plan.dataDir)}`, "a fresh --data dir"] : [`the server at ${url}`, "a server without Bourse streams"];
    throw new DevError(
      "partitions_mismatch",
      `${where} holds a cluster created with ${existing} partitions; drop --partitions (or pass --partitions ${existing}) to resume it, or use ${fresh} for ${plan.partitionsFlag}`,
    );
  }
  return existing;
}

function isStreamMissing(e: unknown): boolean {
  return e instanceof Error && /stream not found|no stream matches/i.test(e.message);
}

async function checkHttpPorts(plan: Plan): Promise<void> {
  if (plan.httpPortBase === 0) return;
  for (let i = 1; i <= plan.nodes; i++) {
    const port = plan.httpPortBase + i - 1;
    if (!(await portFree(port, "0.0.0.0"))) {
      throw new DevError("port_in_use", `port ${port} (HTTP of node-${i}) is in use; pass --http-port with another base, or --http-port 0 for any free ports`);
    }
  }
}

// ---------------------------------------------------------------------------
// Stage 6: serve until stopped

async function serve(plan: Plan, session: DevSession, up: Up, stop: StopRequest, say: (l: string) => void): Promise<string[]> {
  printConnectInfo(plan, up, say);
  const problems: string[] = [];
  const board = new StatusBoard({
    nodes: up.fleet.nodes.map((n) => ({ id: n.id, pid: n.process.pid, httpPort: n.httpPort, exited: () => (n.process.running ? undefined : `exited (${describeExit(n.process)})`) })),
    partitions: up.partitions,
    load: () => session.load?.stats,
    out: process.stdout,
    tty: process.stdout.isTTY === true,
  });
  session.board = board;
  watchExits(session, up, problems, stop);
  session.load?.start();
  board.start();
  const how = await stop.wait(plan.durationMs);
  await board.final();
  if (how === "elapsed") problems.push(...healthProblems(plan, up, session, board));
  return problems;
}

function printConnectInfo(plan: Plan, up: Up, say: (l: string) => void): void {
  const url = up.natsUrl;
  const lines = [
    "",
    `Bourse is up: ${plan.nodes} node${plan.nodes === 1 ? "" : "s"}, ${up.partitions} partitions, demo load ${plan.rate} commands/s on ${plan.markets.join(", ")}`,
    `  NATS      ${url}${plan.externalNats === undefined ? `   (log ${show(join(plan.dataDir, "nats.log"))})` : ""}`,
    ...up.fleet.nodes.map((n) => `  ${n.id.padEnd(9)} http://127.0.0.1:${n.httpPort}/metrics  /healthz  /readyz   (pid ${n.process.pid}, log ${show(n.logFile)})`),
    `  try       pnpm bourse send place --nats ${url} --account acct-1 --market ${plan.markets[0]} --side buy --type limit --price 1000 --qty 5`,
    plan.externalNats === undefined
      ? `  data      ${show(plan.dataDir)} (streams and snapshots persist: run again to resume)`
      : `  data      streams and snapshots on ${url}; logs and pids.json in ${show(plan.dataDir)}`,
    `  stop      ${plan.durationMs === undefined ? "Ctrl-C" : `after ${plan.durationMs / 1000} s, or Ctrl-C`}`,
    "",
  ];
  for (const l of lines) say(l);
}

/** A node that dies is reported (its partitions move to the others); nats-server dying ends the run. */
function watchExits(session: DevSession, up: Up, problems: string[], stop: StopRequest): void {
  for (const n of up.fleet.nodes) {
    void n.process.exited.then(() => {
      if (session.stopping) return;
      const p = `${n.id} (pid ${n.process.pid}) exited unexpectedly (${describeExit(n.process)}); see ${show(n.logFile)}`;
      problems.push(p);
      session.board?.note(`bourse dev: ${p}; the other nodes take over its partitions`);
    });
  }
  const nats = session.nats;
  if (nats === undefined) return;
  void nats.exited.then(() => {
    if (session.stopping) return;
    problems.push(`nats-server (pid ${nats.pid}) exited unexpectedly (${describeExit(nats)}); see its log`);
    stop.request("nats-server exited");
  });
}

function healthProblems(plan: Plan, up: Up, session: DevSession, board: StatusBoard): string[] {
  const v = board.view;
  const out: string[] = [];
  if (v === undefined) return ["no status sample was taken"];
  if (v.owned !== up.partitions) out.push(`at the end only ${v.owned} of ${up.partitions} partitions were owned`);
  if (v.ready !== plan.nodes) out.push(`at the end only ${v.ready} of ${plan.nodes} nodes were ready`);
  const load = session.load?.stats;
  if (load !== undefined && plan.rate > 0 && load.accepted === 0) out.push("the demo load had no order accepted");
  if (load !== undefined && load.errors > 0) out.push(`the demo load had ${load.errors} errors (last: ${load.lastError ?? "?"})`);
  return out;
}

// ---------------------------------------------------------------------------
// Signals

/** SIGINT, SIGTERM, SIGHUP: the first stops in order; a second one kills every process at once. */
class StopRequest {
  private readonly controller = new AbortController();
  private received = 0;
  private readonly handler = (sig: NodeJS.Signals): void => {
    this.received++;
    if (this.received === 1) {
      this.say(`\nbourse dev: ${sig}: stopping (press Ctrl-C again to kill everything at once)`);
      this.request(sig);
    } else {
      this.say(`bourse dev: ${sig} again: killing every process (SIGKILL)`);
      this.force();
    }
  };
  private static readonly SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

  constructor(
    private readonly say: (l: string) => void,
    private readonly force: () => void,
  ) {
    for (const s of StopRequest.SIGNALS) process.on(s, this.handler);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  request(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Resolves on a stop request, or after `ms` (never, if undefined). */
  async wait(ms: number | undefined): Promise<"stopped" | "elapsed"> {
    if (this.signal.aborted) return "stopped";
    const ac = new AbortController();
    const stopped = new Promise<"stopped">((resolve) => this.signal.addEventListener("abort", () => resolve("stopped"), { once: true }));
    const timers = ms === undefined ? [] : [sleep(ms, "elapsed" as const, { signal: ac.signal }).catch(() => "stopped" as const)];
    const how = await Promise.race([stopped, ...timers]);
    ac.abort();
    return how;
  }

  dispose(): void {
    for (const s of StopRequest.SIGNALS) process.off(s, this.handler);
  }
}

