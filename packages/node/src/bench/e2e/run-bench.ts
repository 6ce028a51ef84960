/**
 * The whole of `bourse bench e2e`, in one run on one freshly started nats-server
 * (temp store, free port):
 *
 *   1. raw limit: acknowledged publishes into a plain stream (./raw-phase.ts);
 *   2. Bourse end to end with 3 real nodes: warm-up, closed-loop probe, open-loop
 *      rate ladder to the sustained maximum (./rate-search.ts, ./e2e-step.ts);
 *   3. latency at half that rate, open loop, then at each --latency-curve fraction;
 *   4. with --profile: one more step at the maximum (or --profile-at of it) with the nodes profiled.
 *
 * Every process and temp dir is removed at the end, on failure too; on Ctrl-C
 * the local fixtures' reaper kills what was started.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { Histogram } from "hdr-histogram-js";
import { startNatsServer, type NatsServerHandle } from "../../local/nats-server.js";
import { trackDir, untrackDir } from "../../local/reaper.js";
import { BenchCluster } from "./bench-cluster.js";
import { CommandLedger } from "./command-ledger.js";
import { CpuSampler, cpuText, type CpuShares } from "../common/cpu.js";
import { runStep, type E2eContext, type StepCriteria, type StepResult } from "./e2e-step.js";
import { fmt } from "./format.js";
import { waitForProfiles } from "./node-profiling.js";
import { E2E_METHOD, type BenchE2eOptions } from "./options.js";
import { summarizeProfiles, type ProfileSummary } from "./profile-summary.js";
import { BENCH_PUBLISH_POLICY, BenchPublisher } from "./publisher.js";
import { searchMaxRate } from "./rate-search.js";
import { runRawPhase, type RawResult } from "./raw-phase.js";
import { ReportListener } from "./report-listener.js";
import { marketNames, PlaceWorkload, representativePayloadBytes } from "./workload.js";

export interface E2eResult {
  raw_js_msgs_per_s: number;
  bourse_cmds_per_s: number;
  ratio: number;
  /** Publish-to-report latency at half the maximum rate, open loop, from each command's scheduled send time. */
  latency_ms_p50: number;
  latency_ms_p99: number;
  latency_ms_p999: number;
  latency_ms_max: number;
  /** The same, from the moment the publish call was made (without the publisher's own delays). */
  latency_from_publish_ms_p50: number;
  latency_from_publish_ms_p99: number;
  latency_from_publish_ms_p999: number;
  latency_rate_per_s: number;
  latency_commands: number;
  /** The open-loop rate of the step that set bourse_cmds_per_s. */
  max_rate_per_s: number;
  closed_loop_cmds_per_s: number;
  payload_bytes: number;
  window: number;
  publishers: number;
  partitions: number;
  markets: number;
  nodes: number;
  duration_s: number;
  server_version: string;
  node_version: string;
  cpu_model: string;
  cores: number;
  load_avg_1m_at_start: number;
  raw: RawResult;
  steps: StepResult[];
  latency_step: StepResult;
  /** Latency at half the maximum rate, then at each --latency-curve fraction of it. */
  latency_curve: Omit<LatencyPoint, "step">[];
  /** Cores used per process during the step that set the maximum. */
  cpu_at_max: CpuShares;
  /** Cores the cluster uses with no load at all (heartbeats, timers, consumers' heartbeats): a fixed cost under any load. */
  cpu_idle: CpuShares;
  /**
   * CPU time per message (µs) of each process: in the raw phase per acknowledged
   * publish, at the maximum per reported command. Robust where throughput is not
   * (a machine shared with other work): on a machine whose cores are all busy,
   * the ratio of the two totals is what the throughput ratio tends to.
   */
  raw_cpu_us_per_msg: CpuShares;
  bourse_cpu_us_per_cmd: CpuShares;
  profile?: ProfileSummary & { step: StepResult; files: string[] };
  node_failure_timeout_ms: number;
  /** --node-args: flags every node ran with besides the defaults. */
  node_args: string[];
  /** Commands whose report never came, found in BOURSE_OUT instead (reports are at most once; 0 in a clean run). */
  reports_recovered_from_output: number;
  /** Partitions that stopped or started being served after the cluster settled (0 in a clean run). */
  ownership_changes: number;
  warnings: string[];
  /** False when a sanity check failed (the engine rejected commands of the valid workload): the figures are suspect. */
  ok: boolean;
}

export class BenchFailure extends Error {
  override readonly name = "BenchFailure";
}

type Progress = (line: string) => void;

export async function runBenchE2e(o: BenchE2eOptions, progress: Progress): Promise<E2eResult> {
  const tag = randomBytes(4).toString("hex");
  const workDir = mkdtempSync(join(tmpdir(), "bourse-bench-e2e-"));
  trackDir(workDir);
  const cleanups: (() => Promise<unknown>)[] = [];
  const durationMs = o.duration * 1000;
  const warmupMs = Math.min(E2E_METHOD.warmupMs, durationMs);
  const settleMs = Math.min(E2E_METHOD.settleMs, durationMs / 4);
  const loadAtStart = loadavg()[0]!;
  try {
    progress(`starting nats-server (load average ${loadAtStart.toFixed(2)} on ${cpus().length} cores)`);
    const server: NatsServerHandle = await startNatsServer();
    cleanups.push(() => server.dispose());
    const admin: NatsConnection = await connect({ servers: [server.url], name: "bourse-bench-e2e-admin" });
    cleanups.push(() => admin.close().catch(() => {}));
    const serverVersion = admin.info?.version ?? "unknown";
    const cpu = new CpuSampler();
    cpu.watch("nats-server", () => server.pid);

    const publishers: BenchPublisher[] = [];
    cleanups.push(() => Promise.all(publishers.map((p) => p.close())));
    for (let k = 0; k < o.publishers; k++) publishers.push(await BenchPublisher.connect(server.url, k, "bourse-bench-e2e-pub"));
    const markets = marketNames(o.markets);
    const payloadBytes = representativePayloadBytes(tag);

    progress(`raw JetStream limit: ${o.publishers} publishers × window ${o.window}, ${payloadBytes} B payload, ${o.duration} s`);
    const raw = await runRawPhase({
      nc: admin,
      publishers,
      payloadBytes,
      window: o.window,
      markets,
      partitions: o.partitions,
      warmupMs,
      durationMs,
      tag: `${tag.slice(0, 7)}r`,
      cpu,
    });
    progress(`raw: ${fmt(raw.msgsPerS)} msgs/s (cpu ${cpuText(raw.cpu)})`);

    progress(`starting ${E2E_METHOD.nodes} nodes, ${o.partitions} partitions${o.profile !== undefined ? " (profiler preloaded)" : ""}`);
    const cluster = await BenchCluster.start({
      url: server.url,
      nodes: E2E_METHOD.nodes,
      partitions: o.partitions,
      args: ["--failure-timeout-ms", String(o["failure-timeout-ms"]), ...o["node-args"]],
      logDir: workDir,
      ...(o.profile !== undefined ? { profileDir: o.profile } : {}),
      settledMs: E2E_METHOD.settledMs,
      startMsTimeout: E2E_METHOD.startMsTimeout,
    });
    cleanups.push(() => cluster.stop());
    cluster.procs.forEach((p) => cpu.watch(p.opts.id, () => p.pid));
    await cluster.defineMarkets(markets, tag, E2E_METHOD.startMsTimeout);

    const ledger = new CommandLedger(o.publishers);
    const listener = await ReportListener.start(server.url, ledger, tag);
    cleanups.push(() => listener.close());
    const ctx: E2eContext = {
      publishers,
      workloads: publishers.map((_, k) => new PlaceWorkload(tag, k, markets, o.partitions, E2E_METHOD.accountsPerPublisher)),
      ledger,
      window: o.window,
      jsm: await jetstreamManager(admin),
      js: jetstream(admin),
      tag,
      cpu,
      drainMsTimeout: E2E_METHOD.drainMsTimeout,
      describeCluster: () => cluster.describeChanges(),
      reportMessages: () => listener.messages,
    };
    const criteria: StepCriteria = {
      lagMsMax: Math.max(E2E_METHOD.drainMsBound, E2E_METHOD.drainDurationFraction * durationMs),
      sentFractionMin: E2E_METHOD.sendFractionMin,
      reportedFractionMin: E2E_METHOD.reportedFractionMin,
    };
    const step = async (kind: StepResult["kind"], rate: number | null, ms: number): Promise<StepResult> => {
      const s = await runStep(ctx, kind, rate, ms, criteria);
      const dead = cluster.deadNodes();
      if (dead.length > 0) throw new BenchFailure(`node ${dead.join(", ")} exited during the run`);
      if (kind !== "warmup") progress(stepText(s));
      await sleep(settleMs);
      return s;
    };

    progress(`idle: the cluster without load, ${Math.min(3, o.duration)} s`);
    cpu.start();
    await sleep(Math.min(3, o.duration) * 1000);
    const idleCpu = cpu.stop();
    progress(`idle: cpu ${cpuText(idleCpu)}`);

    progress(`warm-up: closed loop, ${warmupMs / 1000} s`);
    await step("warmup", null, warmupMs);
    progress(`closed-loop probe: ${o.publishers} publishers × ${o.window} commands not yet reported, ${o.duration} s`);
    const probe = await step("closed", null, durationMs);
    const plan = { start: E2E_METHOD.ladderStart, up: E2E_METHOD.ladderUp, upsMax: E2E_METHOD.ladderUpsMax, down: E2E_METHOD.ladderDown, downsMax: E2E_METHOD.ladderDownsMax };
    const { steps, best } = await searchMaxRate(probe.cmdsPerS, plan, (rate) => step("open", rate, durationMs));
    if (best === undefined) {
      throw new BenchFailure(`no open-loop rate kept up (lowest tried: ${fmt(steps[steps.length - 1]!.targetPerS ?? 0)}/s); see the steps above`);
    }
    const maxRate = best.targetPerS!;

    const latencyAt = async (fraction: number): Promise<LatencyPoint> => {
      const rate = Math.max(1, Math.round(maxRate * fraction));
      progress(`latency: open loop at ${fmt(rate)}/s (${fraction} of the maximum), ${o.duration} s`);
      ledger.startRecording(performance.now());
      const s = await runStep(ctx, "open", rate, durationMs, criteria);
      ledger.stopRecordingAt(Infinity);
      progress(stepText(s));
      const point = latencyPoint(fraction, rate, s, ledger.fromSchedule, ledger.fromPublish);
      progress(`latency at ${fmt(rate)}/s: p50 ${point.p50_ms} / p99 ${point.p99_ms} / p99.9 ${point.p999_ms} / max ${point.max_ms} ms (${fmt(point.commands)} commands)`);
      await sleep(settleMs);
      return point;
    };
    const half = await latencyAt(0.5);
    const latencyStep = half.step;
    const curve = [half];
    for (const f of o["latency-curve"]) if (f !== 0.5) curve.push(await latencyAt(f));

    let profile: E2eResult["profile"];
    if (o.profile !== undefined) {
      const profileRate = Math.max(1, Math.round(maxRate * o["profile-at"]));
      progress(`profile: open loop at ${fmt(profileRate)}/s (${o["profile-at"]} of the maximum) with every node profiled, ${o.duration} s`);
      cluster.signal("SIGUSR2");
      const s = await runStep(ctx, "open", profileRate, durationMs, criteria);
      cluster.signal("SIGUSR2");
      progress(stepText(s));
      const files = await waitForProfiles(o.profile, cluster.ids);
      profile = { ...summarizeProfiles(files), step: s, files };
    }
    const dead = cluster.deadNodes();
    if (dead.length > 0) throw new BenchFailure(`node ${dead.join(", ")} exited during the run`);

    const warnings: string[] = [];
    if (loadAtStart > 1) warnings.push(`the machine was busy when the run started (load average ${loadAtStart.toFixed(2)} on ${cpus().length} cores): other processes took CPU, the figures are low and noisy`);
    if (ledger.rejected > 0) warnings.push(`${ledger.rejected} commands were rejected by the engine (the workload is meant to be valid)`);
    if (ledger.failed > 0) warnings.push(`${ledger.failed} publishes were not acknowledged after ${BENCH_PUBLISH_POLICY.attemptsMax} attempts`);
    if (raw.failed > 0) warnings.push(`${raw.failed} raw publishes were not acknowledged`);
    if (ledger.unknown > 0) warnings.push(`${ledger.unknown} report events named commands this run did not send`);
    if (ledger.recovered > 0) warnings.push(`${ledger.recovered} commands' reports never came; they were found in BOURSE_OUT`);
    if (cluster.changes.length > 0) warnings.push(`partitions changed owner during the run (the figures include recoveries): ${cluster.describeChanges()}`);
    if (!latencyStep.keptUp) warnings.push(`the latency step did not keep up: ${latencyStep.why}`);

    return {
      raw_js_msgs_per_s: Math.round(raw.msgsPerS),
      bourse_cmds_per_s: Math.round(best.cmdsPerS),
      ratio: Math.round((best.cmdsPerS / raw.msgsPerS) * 1000) / 1000,
      latency_ms_p50: half.p50_ms,
      latency_ms_p99: half.p99_ms,
      latency_ms_p999: half.p999_ms,
      latency_ms_max: half.max_ms,
      latency_from_publish_ms_p50: half.from_publish_p50_ms,
      latency_from_publish_ms_p99: half.from_publish_p99_ms,
      latency_from_publish_ms_p999: half.from_publish_p999_ms,
      latency_rate_per_s: half.rate_per_s,
      latency_commands: half.commands,
      max_rate_per_s: maxRate,
      closed_loop_cmds_per_s: Math.round(probe.cmdsPerS),
      payload_bytes: payloadBytes,
      window: o.window,
      publishers: o.publishers,
      partitions: o.partitions,
      markets: o.markets,
      nodes: E2E_METHOD.nodes,
      duration_s: o.duration,
      server_version: serverVersion,
      node_version: process.version,
      cpu_model: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      load_avg_1m_at_start: Math.round(loadAtStart * 100) / 100,
      raw,
      steps: [probe, ...steps],
      latency_step: latencyStep,
      latency_curve: curve.map(({ step: _step, ...p }) => p),
      cpu_at_max: best.cpu,
      cpu_idle: idleCpu,
      raw_cpu_us_per_msg: perMessageUs(raw.cpu, raw.msgsPerS),
      bourse_cpu_us_per_cmd: perMessageUs(best.cpu, best.cmdsPerS),
      ...(profile !== undefined ? { profile } : {}),
      node_failure_timeout_ms: o["failure-timeout-ms"],
      node_args: o["node-args"],
      reports_recovered_from_output: ledger.recovered,
      ownership_changes: cluster.changes.length,
      warnings,
      ok: ledger.rejected === 0,
    };
  } finally {
    progress("stopping nodes and nats-server");
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => progress(`cleanup: ${e instanceof Error ? e.message : String(e)}`));
    rmSync(workDir, { recursive: true, force: true });
    untrackDir(workDir);
  }
}

/** Latency (from the scheduled send time, and from the publish call) over one open-loop step. */
export interface LatencyPoint {
  fraction: number;
  rate_per_s: number;
  cmds_per_s: number;
  kept_up: boolean;
  commands: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  from_publish_p50_ms: number;
  from_publish_p99_ms: number;
  from_publish_p999_ms: number;
  ack_ms_p99: number;
  cmds_per_batch: number;
  cpu: CpuShares;
  step: StepResult;
}

function latencyPoint(fraction: number, rate: number, step: StepResult, h: Histogram, hp: Histogram): LatencyPoint {
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    fraction, rate_per_s: rate, cmds_per_s: Math.round(step.cmdsPerS), kept_up: step.keptUp, commands: h.totalCount,
    p50_ms: ms(h.getValueAtPercentile(50)), p99_ms: ms(h.getValueAtPercentile(99)), p999_ms: ms(h.getValueAtPercentile(99.9)), max_ms: ms(h.maxValue),
    from_publish_p50_ms: ms(hp.getValueAtPercentile(50)), from_publish_p99_ms: ms(hp.getValueAtPercentile(99)), from_publish_p999_ms: ms(hp.getValueAtPercentile(99.9)),
    ack_ms_p99: Math.round(step.ackMsP99 * 10) / 10, cmds_per_batch: Math.round(step.cmdsPerBatch * 10) / 10, cpu: step.cpu, step,
  };
}

/** Cores → µs of CPU per message at `perS` messages/s. */
function perMessageUs(cores: CpuShares, perS: number): CpuShares {
  const out: CpuShares = {};
  for (const [k, v] of Object.entries(cores)) out[k] = perS > 0 ? Math.round((v * 1e6) / perS) : 0;
  return out;
}

function stepText(s: StepResult): string {
  const head = s.kind === "closed" ? "closed loop" : `open loop ${fmt(s.targetPerS ?? 0)}/s`;
  const verdict = s.kind === "closed" ? "" : s.keptUp ? " — keeps up" : ` — does not keep up: ${s.why}`;
  return (
    `${head}: ${fmt(s.cmdsPerS)} cmds/s reported, ack p50/p99 ${s.ackMsP50.toFixed(1)}/${s.ackMsP99.toFixed(1)} ms, ` +
    `${fmt(s.outBatchesPerS)} output batches/s (${s.cmdsPerBatch.toFixed(1)} cmds each), ${fmt(s.reportMsgsPerS)} report msgs/s, ` +
    `drain ${Math.round(s.drainMs)} ms, output lag ${Math.round(s.lagMs)} ms, bench loop delay p99 ${s.benchLoopDelayMsP99.toFixed(1)} ms${verdict} (cpu ${cpuText(s.cpu)})`
  );
}
