/**
 * bench match: Bourse's matching engine against nodejs-order-book on the same
 * seeded operations. Run it through `pnpm bourse bench match`, or directly with
 * `node packages/engine/dist/bench/match.js [--ops N] [--json] [--workload name] [--rounds R]`.
 *
 * The flow, parent process:
 *   1. parse the flags, print the machine;
 *   2. per workload, fork this script with `--child` (and --expose-gc) so peak
 *      RSS belongs to that workload alone, and receive its result over IPC;
 *   3. print a table per workload, or one JSON object with --json.
 * Child process, for its one workload:
 *   1. generate the op list (the model matches it as it goes);
 *   2. build both engines' command objects (not timed);
 *   3. warm up: one round of each, not counted;
 *   4. R rounds of each, alternating ours/peer (ABBA), each on a fresh engine:
 *      throughput = timed ops / elapsed; heap retained after the round;
 *   5. a latency pass of each: every op timed alone into an HDR histogram;
 *   6. check every round against the model, send the result.
 * Child stdout is redirected to the parent's stderr, so stdout only ever holds
 * the report. Exit codes: 0 ok, 1 a workload failed its sanity checks or its
 * process died, 2 bad flags.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { oursDriver } from "./ours.js";
import { peerDriver } from "./peer.js";
import {
  describeMachine,
  fmtDec,
  fmtInt,
  formatMachine,
  mb,
  median,
  newLatencyHistogram,
  round,
  summarizeLatency,
  table,
  type LatencySummary,
  type Machine,
} from "./stats.js";
import {
  WORKLOAD_NAMES,
  generate,
  isWorkloadName,
  newTally,
  type Driver,
  type OpList,
  type Tally,
  type WorkloadName,
} from "./workloads.js";

export const benchDefaults = {
  ops: 1_000_000,
  rounds: 3,
  workload: "all",
} as const;

/** Bounds on the flags: op lists are typed arrays plus one object per op per engine. */
export const benchLimits = {
  opsMax: 20_000_000,
  roundsMax: 50,
} as const;

/** What the README and docs/benchmarks.md quote; shown, never asserted. */
export const targets = {
  ratioMin: 20,
  mixedOpsPerSecondMin: 2_000_000,
} as const;

const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

interface Args {
  ops: number;
  rounds: number;
  workloads: WorkloadName[];
  json: boolean;
  child: boolean;
}

class UsageError extends Error {
  override readonly name = "UsageError";
}

/** One workload's figures; the first keys are the documented JSON shape. */
export interface WorkloadResult {
  name: WorkloadName;
  ops: number;
  ours_ops_per_s: number;
  peer_ops_per_s: number;
  ratio: number;
  ours_p50_us: number;
  ours_p99_us: number;
  ours_p999_us: number;
  peer_p50_us: number;
  peer_p99_us: number;
  peer_p999_us: number;
  peak_rss_mb: number;
  setup_ops: number;
  rounds: number;
  seed: number;
  ours_rounds_ops_per_s: number[];
  peer_rounds_ops_per_s: number[];
  ours_heap_mb: number | null;
  peer_heap_mb: number | null;
  model_trades: number;
  model_traded_qty: number;
  ours_trades: number;
  ours_traded_qty: number;
  ours_rejects: number;
  peer_trades: number;
  peer_traded_qty: number;
  peer_rejects: number;
  /** Empty when both engines matched exactly what the model matched, every round. */
  mismatches: string[];
}

export interface Report {
  machine: Machine;
  workloads: WorkloadResult[];
}

// ---------------------------------------------------------------------------
// Flags

function parse(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ops: { type: "string" },
        rounds: { type: "string" },
        workload: { type: "string" },
        json: { type: "boolean" },
        child: { type: "boolean" },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values;
  return {
    ops: positiveInt("--ops", v.ops, benchDefaults.ops, benchLimits.opsMax),
    rounds: positiveInt("--rounds", v.rounds, benchDefaults.rounds, benchLimits.roundsMax),
    workloads: workloads(v.workload ?? benchDefaults.workload),
    json: v.json ?? false,
    child: v.child ?? false,
  };
}

function positiveInt(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = /^[0-9]+(_[0-9]+)*$/.test(raw) ? Number(raw.replaceAll("_", "")) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${raw}"`);
  if (n > max) throw new UsageError(`${flag} must be at most ${max}, got "${raw}"`);
  return n;
}

function workloads(raw: string): WorkloadName[] {
  if (raw === "all") return [...WORKLOAD_NAMES];
  const names = raw.split(",");
  for (const n of names)
    if (!isWorkloadName(n))
      throw new UsageError(`--workload must be "all" or a comma-separated list of ${WORKLOAD_NAMES.join(", ")}, got "${raw}"`);
  return names as WorkloadName[];
}

// ---------------------------------------------------------------------------
// Parent: one child process per workload

async function runParent(args: Args): Promise<number> {
  const machine = describeMachine();
  const say = args.json ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => process.stdout.write(`${s}\n`);
  say(formatMachine(machine));
  say(
    `bench match: ${fmtInt(args.ops)} ops per workload, ${plural(args.rounds, "round")} per engine after a warm-up round, ` +
      "ours vs nodejs-order-book 10.1.1",
  );
  const results: WorkloadResult[] = [];
  for (const name of args.workloads) {
    const result = await forkWorkload(name, args);
    if (typeof result === "string") {
      process.stderr.write(`bench match: ${result}\n`);
      return exitCodes.failed;
    }
    results.push(result);
    if (!args.json) say(`\n${formatResult(result)}`);
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ machine, workloads: results } satisfies Report)}\n`);
  const failures = results.flatMap(sanityFailures);
  for (const f of failures) process.stderr.write(`bench match: ${f}\n`);
  return failures.length === 0 ? exitCodes.ok : exitCodes.failed;
}

/** The workload's result, or why there is none. */
function forkWorkload(name: WorkloadName, args: Args): Promise<WorkloadResult | string> {
  const script = fileURLToPath(import.meta.url);
  const childArgs = ["--child", "--workload", name, "--ops", String(args.ops), "--rounds", String(args.rounds)];
  const execArgv = [...process.execArgv.filter((a) => a !== "--expose-gc"), "--expose-gc"];
  return new Promise((resolve) => {
    const child = fork(script, childArgs, { execArgv, stdio: ["ignore", "pipe", "inherit", "ipc"] });
    child.stdout?.pipe(process.stderr);
    let result: WorkloadResult | undefined;
    child.on("message", (m) => (result = m as WorkloadResult));
    child.on("error", (e) => resolve(`${name}: could not start the workload process: ${e.message}`));
    child.on("exit", (code, signal) => {
      if (result !== undefined && code === 0) resolve(result);
      else resolve(`${name}: workload process ${signal !== null ? `killed by ${signal}` : `exited with code ${code}`}`);
    });
  });
}

function sanityFailures(r: WorkloadResult): string[] {
  const out: string[] = [];
  if (r.ours_trades === 0) out.push(`${r.name}: ours made no trades`);
  if (r.peer_trades === 0) out.push(`${r.name}: peer made no trades`);
  return out;
}

function formatResult(r: WorkloadResult): string {
  const ratioMet = r.ratio >= targets.ratioMin;
  const lines = [
    `${r.name}: ${fmtInt(r.ops)} ops timed` +
      (r.setup_ops > 0 ? ` after ${fmtInt(r.setup_ops)} untimed setup ops` : "") +
      `, median of ${plural(r.rounds, "round")}, seed 0x${r.seed.toString(16)}`,
    table([
      ["", "ours", "peer", "ours/peer"],
      ["throughput ops/s", fmtInt(r.ours_ops_per_s), fmtInt(r.peer_ops_per_s), `${fmtDec(r.ratio)}x`],
      ["latency p50 µs", fmtDec(r.ours_p50_us), fmtDec(r.peer_p50_us), ""],
      ["latency p99 µs", fmtDec(r.ours_p99_us), fmtDec(r.peer_p99_us), ""],
      ["latency p999 µs", fmtDec(r.ours_p999_us), fmtDec(r.peer_p999_us), ""],
      ["heap after a round MB", fmtDec(r.ours_heap_mb), fmtDec(r.peer_heap_mb), ""],
      [`trades (model ${fmtInt(r.model_trades)})`, fmtInt(r.ours_trades), fmtInt(r.peer_trades), ""],
      [`traded qty (model ${fmtInt(r.model_traded_qty)})`, fmtInt(r.ours_traded_qty), fmtInt(r.peer_traded_qty), ""],
      ["rejected or ignored", fmtInt(r.ours_rejects), fmtInt(r.peer_rejects), ""],
    ]),
    `peak RSS of the workload process (both engines, op lists): ${fmtDec(r.peak_rss_mb)} MB`,
    `targets (shown, not asserted): ours/peer >= ${targets.ratioMin}: ${ratioMet ? "met" : "missed"}` +
      (r.name === "mixed"
        ? `; ours >= ${fmtInt(targets.mixedOpsPerSecondMin)} ops/s: ${r.ours_ops_per_s >= targets.mixedOpsPerSecondMin ? "met" : "missed"}`
        : ""),
  ];
  for (const m of r.mismatches) lines.push(`WARNING: ${m}`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------
// Child: one workload

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

interface RoundFigures {
  opsPerSecond: number;
  /** Heap used, after a full collection, before the engine was created and after its round. */
  heapBefore: number;
  heapAfter: number;
  tally: Tally;
}

async function runChildWorkload(name: WorkloadName, args: Args): Promise<WorkloadResult> {
  const t0 = performance.now();
  const list = generate(name, args.ops);
  const e = list.expected;
  log(
    `${name}: generated ${fmtInt(list.length)} ops in ${fmtDec((performance.now() - t0) / 1_000)} s; ` +
      `model: ${fmtInt(e.trades)} trades, ${fmtInt(e.cancels)} cancels, ${fmtInt(list.restingAtEnd)} orders resting at the end`,
  );
  const drivers: Driver[] = [oursDriver(list), peerDriver(list)];
  const mismatches: string[] = [];
  const checkRound = (d: Driver, label: string, t: Tally) => {
    const m = compare(list, t);
    if (m !== null) mismatches.push(`${name} ${label} ${d.name}: ${m}`);
  };

  for (const d of drivers) {
    const f = await timedRound(d, list);
    checkRound(d, "warm-up", f.tally);
    log(`  warm-up ${d.name}: ${fmtInt(f.opsPerSecond)} ops/s, ${describeTally(f.tally)}`);
  }

  const rounds = new Map<Driver, RoundFigures[]>(drivers.map((d) => [d, []]));
  for (let r = 0; r < args.rounds; r++) {
    const order = r % 2 === 0 ? drivers : [...drivers].reverse();
    for (const d of order) {
      const f = await timedRound(d, list);
      rounds.get(d)!.push(f);
      checkRound(d, `round ${r + 1}`, f.tally);
      log(`  round ${r + 1}/${args.rounds} ${d.name}: ${fmtInt(f.opsPerSecond)} ops/s, ${describeTally(f.tally)}`);
    }
  }

  const latency: LatencySummary[] = [];
  for (const d of drivers) {
    const session = d.open();
    await settle();
    const h = newLatencyHistogram();
    const t = newTally();
    session.runTimed(t, h);
    checkRound(d, "latency pass", t);
    const s = summarizeLatency(h);
    log(`  latency ${d.name}: p50 ${s.p50_us} µs, p99 ${s.p99_us} µs, p999 ${s.p999_us} µs, max ${s.max_us} µs`);
    latency.push(s);
  }

  const [ours, peer] = drivers.map((d) => rounds.get(d)!) as [RoundFigures[], RoundFigures[]];
  const [oursLat, peerLat] = latency as [LatencySummary, LatencySummary];
  const oursOps = median(ours.map((f) => f.opsPerSecond));
  const peerOps = median(peer.map((f) => f.opsPerSecond));
  // Retained heap is measured against the lowest pre-round heap of the whole
  // process: a pre-round sample sometimes still holds the previous engine.
  const baseline = Math.min(...[...ours, ...peer].map((f) => f.heapBefore));
  const heap = (fs: RoundFigures[]) => (gc === undefined ? null : mb(median(fs.map((f) => f.heapAfter)) - baseline));
  const lastOurs = ours[ours.length - 1]!.tally;
  const lastPeer = peer[peer.length - 1]!.tally;
  return {
    name,
    ops: list.length - list.setup,
    ours_ops_per_s: Math.round(oursOps),
    peer_ops_per_s: Math.round(peerOps),
    ratio: round(oursOps / peerOps, 2),
    ours_p50_us: oursLat.p50_us,
    ours_p99_us: oursLat.p99_us,
    ours_p999_us: oursLat.p999_us,
    peer_p50_us: peerLat.p50_us,
    peer_p99_us: peerLat.p99_us,
    peer_p999_us: peerLat.p999_us,
    peak_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
    setup_ops: list.setup,
    rounds: args.rounds,
    seed: list.seed,
    ours_rounds_ops_per_s: ours.map((f) => Math.round(f.opsPerSecond)),
    peer_rounds_ops_per_s: peer.map((f) => Math.round(f.opsPerSecond)),
    ours_heap_mb: heap(ours),
    peer_heap_mb: heap(peer),
    model_trades: e.trades,
    model_traded_qty: e.tradedQty,
    ours_trades: lastOurs.trades,
    ours_traded_qty: lastOurs.tradedQty,
    ours_rejects: lastOurs.rejects,
    peer_trades: lastPeer.trades,
    peer_traded_qty: lastPeer.tradedQty,
    peer_rejects: lastPeer.rejects,
    mismatches,
  };
}

/**
 * Lets the event loop turn, then collects garbage. Without the turn, a full
 * collection often left the previous round's engine in the heap, held by a V8
 * handle scope until the next turn, which adds to the next round's GC load.
 */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  gc?.();
}

/** A fresh engine, its setup applied and garbage collected, then the timed ops. */
async function timedRound(d: Driver, list: OpList): Promise<RoundFigures> {
  await settle();
  const heapBefore = process.memoryUsage().heapUsed;
  const session = d.open();
  await settle();
  const tally = newTally();
  const t0 = process.hrtime.bigint();
  session.run(tally);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  await settle();
  const heapAfter = process.memoryUsage().heapUsed;
  keep(session);
  return { opsPerSecond: ((list.length - list.setup) * 1e9) / elapsedNs, heapBefore, heapAfter, tally };
}

/** Keeps the session reachable until the heap has been measured. */
function keep(_: unknown): void {}

function compare(list: OpList, t: Tally): string | null {
  const e = list.expected;
  if (t.trades === e.trades && t.tradedQty === e.tradedQty && t.rejects === 0) return null;
  return (
    `${fmtInt(t.trades)} trades for ${fmtInt(t.tradedQty)} qty, ${fmtInt(t.rejects)} rejected` +
    (t.rejects > 0 ? ` (first: ${t.firstReject})` : "") +
    `; the model made ${fmtInt(e.trades)} trades for ${fmtInt(e.tradedQty)} qty, none rejected`
  );
}

function plural(n: number, word: string): string {
  return `${fmtInt(n)} ${word}${n === 1 ? "" : "s"}`;
}

function describeTally(t: Tally): string {
  return `${fmtInt(t.trades)} trades, ${fmtInt(t.tradedQty)} qty, ${fmtInt(t.rejects)} rejected`;
}

// ---------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench match: ${e.message}\n`);
    return exitCodes.usage;
  }
  if (!args.child) return runParent(args);
  const [name] = args.workloads;
  if (args.workloads.length !== 1 || name === undefined || process.send === undefined) {
    process.stderr.write("bench match: --child runs one workload and must be started by the bench itself\n");
    return exitCodes.usage;
  }
  const result = await runChildWorkload(name, args);
  await new Promise<void>((resolve, reject) => process.send!(result, undefined, {}, (e) => (e ? reject(e) : resolve())));
  process.disconnect?.();
  return exitCodes.ok;
}

process.exitCode = await main(process.argv.slice(2));
