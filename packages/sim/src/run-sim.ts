/**
 * One simulation run, start to end: start the processes, define the markets,
 * drive the load while the fault schedule runs, repair everything, drain,
 * check every invariant, measure, stop everything. Returns the result; the
 * caller renders it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { canonical, checkCluster, type Violation } from "@bourse/node";
import type { ReferenceModel } from "@bourse/engine/model";
import { drain } from "./drain.js";
import { FaultInjector, type FaultRecord } from "./fault-injector.js";
import { faultSchedule, type FaultModel, type ScheduledFault } from "./fault-schedule.js";
import { checkLiveState } from "./live-state.js";
import { AvailabilityProbe } from "./probes.js";
import { SimPublisher, type AckedCommand } from "./publisher.js";
import { analyseRecoveries, type RecoveryAnalysis } from "./recovery.js";
import { ReportListener } from "./report-listener.js";
import { SimCluster, type ExternalNats } from "./sim-cluster.js";
import { marketDefinitions, marketNames, Workload } from "./workload.js";

/** Before the live-state check: no partition changed hands for this long. */
const SETTLE_QUIET_MS = 1_000;

export interface SimConfig {
  seed: number;
  nodes: number;
  publishers: number;
  markets: number;
  partitions: number;
  rate: number;
  /** Load duration; with `commands`, the span the fault schedule covers. */
  durationMs: number;
  commands: number | undefined;
  model: FaultModel;
  natsServers: 1 | 3;
  natsUrl: string | undefined;
  /** A NATS cluster the caller started (and disposes), e.g. deploy/nats; NATS faults hit its servers. */
  external?: ExternalNats;
  /** Use this fault schedule instead of drawing one from the model. */
  schedule?: ScheduledFault[];
  nodeArgs: string[];
  drainMsTimeout: number;
  keep: boolean;
}

export interface Progress {
  elapsedMs: number;
  durationMs: number;
  acked: number;
  faults: number;
  up: number;
}

export interface SimOutcome {
  config: SimConfig;
  schedule: ScheduledFault[];
  faults: FaultRecord[];
  recovery: RecoveryAnalysis;
  violations: Violation[];
  /** Epoch ms when the load (and the fault schedule's clock) started. */
  loadStartedAt: number;
  loadMs: number;
  sent: number;
  acked: number;
  ackedCommands: number;
  unacked: number;
  resends: number;
  dropped: number;
  latenciesMs: number[];
  reportsReceived: number;
  reportRepeats: number;
  commandsLogged: number;
  eventsDurable: number;
  trades: number;
  availabilityMeasured: number;
  probes: number;
  workDir: string;
  workDirKept: boolean;
}

export async function runSim(cfg: SimConfig, onProgress: (p: Progress) => void = () => {}): Promise<SimOutcome> {
  const workDir = await mkdtemp(join(tmpdir(), "bourse-sim-"));
  const schedule = cfg.schedule ?? faultSchedule(cfg.seed, cfg.model, cfg.durationMs);
  const cluster = await SimCluster.start({
    nodes: cfg.nodes, partitions: cfg.partitions, natsServers: cfg.natsServers, workDir, nodeArgs: cfg.nodeArgs,
    ...(cfg.natsUrl !== undefined ? { natsUrl: cfg.natsUrl } : {}),
    ...(cfg.external !== undefined ? { external: cfg.external } : {}),
  });
  const closers: (() => Promise<void>)[] = [];
  let failed = true;
  try {
    const listener = await ReportListener.start(cluster.clientOptions("bourse-sim-reports"));
    closers.push(() => listener.close());
    const markets = marketNames(cfg.markets);
    const acked: AckedCommand[] = [];
    const sentAt = new Map<string, number>();
    const onAck = (a: AckedCommand) => acked.push(a);
    const onSend = (cmdId: string, at: number) => sentAt.set(cmdId, at);

    const admin = await SimPublisher.connect(cluster.clientOptions("bourse-sim-admin"), new Workload(cfg.seed, -1, markets), cfg.partitions, onAck, () => {});
    closers.push(() => admin.close());
    await admin.publishAll(marketDefinitions(markets).map((cmd) => ({ cmd, market: cmd.kind === "market" ? cmd.symbol : "", resend: false })));

    const pubs = await Promise.all(
      Array.from({ length: cfg.publishers }, (_, i) => SimPublisher.connect(cluster.clientOptions(`bourse-sim-pub-${i}`), new Workload(cfg.seed, i, markets), cfg.partitions, onAck, onSend)),
    );
    for (const p of pubs) closers.push(() => p.close());
    const probe = await AvailabilityProbe.start(cluster.clientOptions("bourse-sim-probe"), cfg.partitions);
    closers.push(() => probe.stop());

    const injector = new FaultInjector(cluster);
    const start = Date.now();
    injector.arm(schedule, start);
    const sentTotal = () => pubs.reduce((a, p) => a + p.stats.sent, 0);
    const done = () => (cfg.commands !== undefined ? sentTotal() >= cfg.commands : Date.now() - start >= cfg.durationMs);
    const ticker = setInterval(() => onProgress({
      elapsedMs: Date.now() - start,
      durationMs: cfg.durationMs,
      acked: acked.length,
      faults: injector.injected,
      up: cluster.nodes.filter((n) => n.state === "up").length,
    }), 250);
    try {
      await Promise.all(pubs.map((p) => p.run(cfg.rate / cfg.publishers, done)));
    } finally {
      clearInterval(ticker);
    }
    const loadMs = Date.now() - start;
    await injector.stop();
    await probe.stop();

    // Repair whatever the schedule left down, then let every partition settle.
    const violations: Violation[] = [];
    for (const n of cluster.nodes) {
      if (n.state === "paused") cluster.resume(n.index);
      else if (n.state !== "up") {
        await cluster.startNode(n.index).catch((e: unknown) => {
          violations.push({ check: "drain_timeout", partition: -1, detail: `repair after the load: ${e instanceof Error ? e.message : String(e)}` });
        });
      }
    }
    const nc = await connect(cluster.clientOptions("bourse-sim-checker"));
    closers.push(() => nc.close());
    try {
      await cluster.waitAllServing();
    } catch (e) {
      violations.push({ check: "drain_timeout", partition: -1, detail: (e as Error).message });
    }
    const highest = new Map<number, number>();
    for (const a of acked) highest.set(a.partition, Math.max(highest.get(a.partition) ?? 0, a.seq));
    violations.push(...(await drain(await jetstreamManager(nc), highest, cfg.drainMsTimeout)));
    await sleep(500); // the last reports are in flight

    const ackedIds = new Set(acked.map((a) => a.cmdId));
    const durable = await checkCluster(jetstream(nc), cfg.partitions, ackedIds);
    violations.push(...durable.violations);
    const outputs = new Map(durable.partitions.map((r) => [r.partition, r.output]));
    for (const [key, reported] of listener.reported) {
      const [p, seq] = key.split("/").map(Number) as [number, number];
      const e = outputs.get(p)?.[seq - 1];
      const durableText = e === undefined ? undefined : canonical(e);
      if (durableText !== reported) {
        violations.push({ check: "report_mismatch", partition: p, seq, detail: durableText === undefined ? `reported event ${reported.slice(0, 200)} is not in the durable output` : `reported ${reported.slice(0, 200)} but the durable output holds ${durableText.slice(0, 200)}` });
      }
    }
    for (const c of listener.conflicts) violations.push({ check: "report_mismatch", partition: c.partition, seq: c.seq, detail: `reported twice, differently: ${c.first.slice(0, 150)} then ${c.second.slice(0, 150)}` });
    const models = new Map<number, ReferenceModel>(durable.partitions.map((r) => [r.partition, r.model]));
    await cluster.waitSettled(SETTLE_QUIET_MS, cfg.drainMsTimeout);
    violations.push(...(await checkLiveState(nc, markets, cfg.partitions, models)));

    const latenciesMs: number[] = [];
    for (const [cmdId, at] of sentAt) {
      const r = listener.firstReportAt.get(cmdId);
      if (r !== undefined && ackedIds.has(cmdId)) latenciesMs.push(r - at);
    }
    const stat = (k: "sent" | "acked" | "unacked" | "resends" | "dropped") => pubs.reduce((a, p) => a + p.stats[k], 0);
    failed = violations.length > 0;
    return {
      config: cfg,
      schedule,
      faults: injector.records,
      recovery: analyseRecoveries(injector.records, cluster),
      violations,
      loadStartedAt: start,
      loadMs,
      sent: stat("sent"),
      acked: stat("acked"),
      ackedCommands: ackedIds.size,
      unacked: stat("unacked"),
      resends: stat("resends"),
      dropped: stat("dropped"),
      latenciesMs,
      reportsReceived: listener.messages,
      reportRepeats: listener.repeats,
      commandsLogged: durable.commands,
      eventsDurable: durable.events,
      trades: durable.trades,
      availabilityMeasured: probe.availability,
      probes: probe.sent,
      workDir,
      workDirKept: cfg.keep || failed,
    };
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    await cluster.stop();
    if (!(cfg.keep || failed)) await rm(workDir, { recursive: true, force: true });
  }
}
