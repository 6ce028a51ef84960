/**
 * The node half of `bourse bench memory`: one real `bourse node` process (the
 * built CLI, default flags, 64 partitions, all owned by it) on a nats-server of
 * the bench's own. Sampled after a forced GC (gc-hook.ts) twice: idle, with
 * every partition serving; and after --node-orders passive orders (the memory
 * workload's, same seed) were published to its log as publishers do, applied,
 * and covered by a stored snapshot. The difference to the engine process at the
 * same count is what the node adds around the engine.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstream } from "@nats-io/jetstream";
import { encodeCommand, type Command } from "@bourse/engine";
import { NodeProcess } from "../../local/node-process.js";
import { trackDir, untrackDir } from "../../local/reaper.js";
import { snapshotName } from "../../partition/snapshot-store.js";
import { STREAM_OUT, headers, subjects } from "../../protocol.js";
import { startBenchNats, type BenchNats } from "../common/bench-nats.js";
import { ProgressTicker, fmtInt, progress } from "../common/progress.js";
import { PublishWindow } from "../common/publish-window.js";
import { loopDelayOfLine, memoryOfLine, writeGcHook } from "./gc-hook.js";
import type { MemorySample } from "./measure.js";
import { MEMORY_MARKET, MemoryWorkload, memoryPartition } from "./workload.js";

const PARTITIONS = 64;
const PUBLISH_WINDOW = 1_000;
const SERVING_MS_TIMEOUT = 60_000;
const SAMPLE_MS_TIMEOUT = 60_000;
/** Applying and snapshotting the orders: a floor, plus a generous time per order. */
const SETTLE_MS_TIMEOUT_BASE = 120_000;
const SETTLE_MS_PER_ORDER = 2;
const POLL_MS = 200;

export interface NodeProbeResult {
  orders: number;
  partitions: number;
  partition: number;
  idle: MemorySample;
  loaded: MemorySample;
  /** First publish to the snapshot that covers the last order. */
  ingestMs: number;
  /** The node's event loop while it took the orders and snapshotted them: longest block and p99, ms. */
  loadingLoopDelay: { maxMs: number; p99Ms: number };
}

export async function probeNode(o: { orders: number; seed: number; accounts: number }): Promise<NodeProbeResult> {
  let nats: BenchNats | undefined;
  let node: NodeProcess | undefined;
  const dir = await mkdtemp(join(tmpdir(), "bourse-bench-memory-"));
  trackDir(dir);
  try {
    nats = await startBenchNats(PARTITIONS);
    node = await startMeasuredNode(nats.server.url, await writeGcHook(dir));
    await waitFor(() => node!.servingPartitions().length >= PARTITIONS, SERVING_MS_TIMEOUT, "every partition serving", node);
    progress("memory", `[node] pid ${node.pid}: ${PARTITIONS} partitions serving`);
    const { memory: idle } = await sample(node);
    progress("memory", `[node] idle: ${describe(idle)}`);

    const p = memoryPartition(PARTITIONS);
    const started = performance.now();
    const last = await publishOrders(nats, p, o);
    await waitFor(async () => (await outputLastInSeq(nats!, p)) >= last, SETTLE_MS_TIMEOUT_BASE + SETTLE_MS_PER_ORDER * o.orders, `the node applying input ${last}`, node);
    await waitFor(async () => (await snapshotLastInSeq(nats!, p)) >= last, SETTLE_MS_TIMEOUT_BASE, `a snapshot covering input ${last}`, node);
    const ingestMs = performance.now() - started;
    progress("memory", `[node] ${fmtInt(o.orders)} orders applied and snapshotted in ${fmtInt(ingestMs)} ms`);
    const { memory: loaded, loopDelay } = await sample(node);
    progress("memory", `[node] ${fmtInt(o.orders)} resting: ${describe(loaded)}; event loop blocked at most ${fmtInt(loopDelay.maxMs)} ms meanwhile (p99 ${fmtInt(loopDelay.p99Ms)} ms)`);
    return { orders: o.orders, partitions: PARTITIONS, partition: p, idle, loaded, ingestMs, loadingLoopDelay: loopDelay };
  } finally {
    await node?.stop();
    await nats?.dispose();
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
  }
}

/** NodeProcess passes the environment on: the hook goes in through NODE_OPTIONS for this one spawn. */
async function startMeasuredNode(url: string, nodeOptions: string[]): Promise<NodeProcess> {
  const before = process.env["NODE_OPTIONS"];
  process.env["NODE_OPTIONS"] = [before ?? "", ...nodeOptions].join(" ").trim();
  let starting: Promise<NodeProcess>;
  try {
    // NodeProcess spawns synchronously, before its first await.
    starting = NodeProcess.start({ id: "bench-memory", nats: url, partitions: PARTITIONS });
  } finally {
    if (before === undefined) delete process.env["NODE_OPTIONS"];
    else process.env["NODE_OPTIONS"] = before;
  }
  return starting;
}

async function publishOrders(nats: BenchNats, p: number, o: { orders: number; seed: number; accounts: number }): Promise<number> {
  const js = jetstream(nats.nc, { timeout: 30_000 });
  const window = new PublishWindow(js, PUBLISH_WINDOW);
  const w = new MemoryWorkload(o.seed, o.accounts);
  const ticker = new ProgressTicker("memory", "[node] publishing resting orders", o.orders);
  const send = (cmd: Command, market: string): Promise<void> =>
    window.publish(subjects.in(p, market, cmd.account), encodeCommand(cmd), { msgID: cmd.cmdId });
  await send(w.market(), MEMORY_MARKET);
  for (let i = 1; i <= o.orders; i++) {
    await send(w.passive(), MEMORY_MARKET);
    ticker.tick(i);
  }
  await window.flush();
  if (window.duplicates > 0) throw new Error(`${window.duplicates} orders were dropped as duplicates`);
  return window.lastSeq;
}

async function outputLastInSeq(nats: BenchNats, p: number): Promise<number> {
  const m = await nats.handles.jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) }).catch(() => null);
  return m ? Number(m.header.get(headers.lastInSeq)) : 0;
}

async function snapshotLastInSeq(nats: BenchNats, p: number): Promise<number> {
  const info = await nats.handles.snapshots.info(snapshotName(p)).catch(() => null);
  return Number(info?.metadata?.["lastInSeq"] ?? 0);
}

async function sample(node: NodeProcess): Promise<{ memory: MemorySample; loopDelay: { maxMs: number; p99Ms: number } }> {
  const from = node.lines.length;
  process.kill(node.pid, "SIGUSR2");
  let found: { memory: MemorySample; loopDelay: { maxMs: number; p99Ms: number } } | undefined;
  await waitFor(() => {
    for (let i = from; i < node.lines.length && !found; i++) {
      const line = node.lines[i]!;
      const memory = memoryOfLine(line);
      if (memory) found = { memory, loopDelay: loopDelayOfLine(line) };
    }
    return found !== undefined;
  }, SAMPLE_MS_TIMEOUT, "the node's memory sample", node);
  return found!;
}

/** Polls `cond`; fails at the deadline, or at once when the measured node has exited. */
async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string, node?: NodeProcess): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (node !== undefined && !node.running) throw new Error(`the node exited while waiting for ${what}:\n${node.logText().slice(-4000)}`);
    if (performance.now() > end) throw new Error(`timed out after ${fmtInt(ms)} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

function describe(m: MemorySample): string {
  const mb = (n: number): string => (n / 1048576).toFixed(1);
  return `rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB, external ${mb(m.external)} MB`;
}
