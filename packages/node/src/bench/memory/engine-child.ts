/**
 * The engine half of `bourse bench memory`, in a process of its own (forked
 * with --expose-gc, so its memory is the engine's and nothing else's): one
 * partition set up as a node sets it up, fed as a node feeds it.
 *
 *   - PartitionEngine with the node's default engine options;
 *   - every command encoded as a publisher encodes it and decoded by the node's
 *     intake (so the strings an order keeps are fresh ones, as in a node);
 *   - engine.snapshot() every --snapshot-commands commands and at each sample,
 *     which clears the journal and keeps the bytes as the rollback checkpoint,
 *     as the node's snapshot schedule does (a node that goes idle snapshots
 *     within snapshotMsEvery; each sample is taken like that);
 *   - snapshots of at least --rollback-spill-bytes written to a file with the
 *     node's RollbackSpill and the engine's copy dropped, as the runner does
 *     once a snapshot is stored.
 *
 * Phase 1 places --resting passive orders. Phase 2 keeps that many resting while
 * orders pass through: half the steps place a passive order and cancel a random
 * resting one, half place a maker at the inside and fill it with a taker.
 * Samples after a forced GC: the empty engine, --node-orders resting (to compare
 * with the real node), --resting, 2x and 5x --resting orders passed, --orders.
 *
 * Input: one JSON argument (ChildConfig). Output: one IPC message (ChildResult
 * or { error }). Progress on stderr.
 */
import { PartitionEngine, encodeCommand, type Command, type EngineEvent } from "@bourse/engine";
import { defaultNodeConfig } from "../../config.js";
import { intake } from "../../partition/command-intake.js";
import { RollbackSpill, type PartitionSpill } from "../../partition/rollback-spill.js";
import { subjects } from "../../protocol.js";
import { ProgressTicker, fmtInt, progress } from "../common/progress.js";
import { engineSizes, sampleAfterGc, type EngineSizes, type MemorySample } from "./measure.js";
import { MEMORY_MARKET, MemoryWorkload, memoryPartition } from "./workload.js";

export interface ChildConfig {
  orders: number;
  resting: number;
  nodeOrders: number;
  snapshotCommands: number;
  /** As NodeConfig.rollbackSpillBytes: snapshots this big go to a file (0: never). */
  rollbackSpillBytes: number;
  accounts: number;
  seed: number;
  partitions: number;
}

export interface SamplePoint {
  label: string;
  /** Orders placed so far. */
  orders: number;
  commands: number;
  memory: MemorySample;
  sizes: EngineSizes;
  snapshotBytes: number;
  snapshotMs: number;
  /** Where the engine's rollback point was at the sample. */
  checkpoint: "bytes" | "image" | "spilled";
}

export interface ChildResult {
  points: SamplePoint[];
  commands: number;
  trades: number;
  cancels: number;
  rejections: number;
  /** process.resourceUsage().maxRSS, bytes. */
  peakRss: number;
  phase1Ms: number;
  phase2Ms: number;
  partition: number;
  engineOptions: PartitionEngine["options"];
}

/** Log time of the first command; one ms per command after it (nothing here expires). */
const LOG_TIME_START = 1_700_000_000_000;

class Driver {
  readonly engine: PartitionEngine;
  readonly workload: MemoryWorkload;
  readonly partition: number;
  commands = 0;
  trades = 0;
  cancels = 0;
  rejections = 0;
  firstRejection = "";
  points: SamplePoint[] = [];
  /** Ids of the resting orders and the index of their account: a cancel picks one at random. */
  private readonly restingIds: Uint32Array;
  private readonly restingAccounts: Uint32Array;
  private restingCount = 0;
  readonly spillDir: RollbackSpill | null;
  private readonly spill: PartitionSpill | null;
  /** A snapshot's spill in progress: the driver awaits it before the next command. */
  pendingSpill: Promise<void> | null = null;

  constructor(private readonly c: ChildConfig) {
    this.partition = memoryPartition(c.partitions);
    this.engine = new PartitionEngine({ partition: this.partition, ...defaultNodeConfig.engine });
    this.workload = new MemoryWorkload(c.seed, c.accounts);
    this.restingIds = new Uint32Array(c.resting);
    this.restingAccounts = new Uint32Array(c.resting);
    this.spillDir = c.rollbackSpillBytes > 0 ? RollbackSpill.open("", c.rollbackSpillBytes) : null;
    this.spill = this.spillDir?.forPartition(this.partition) ?? null;
  }

  /** engine.snapshot(), then the bytes spilled as a node's runner spills them (awaited via pendingSpill). */
  snapshot(): Uint8Array {
    const bytes = this.engine.snapshot();
    if (this.spill !== null) this.pendingSpill = this.spill.spillFrom(this.engine, bytes).then(() => {});
    return bytes;
  }

  async settle(): Promise<void> {
    const p = this.pendingSpill;
    this.pendingSpill = null;
    await p;
  }

  /** Encode, intake, apply: what a node does with each command of its log. */
  apply(cmd: Command): EngineEvent[] {
    const inSeq = ++this.commands;
    const market = cmd.kind === "market" ? cmd.symbol : MEMORY_MARKET;
    const subject = subjects.in(this.partition, market, cmd.account);
    const input = intake(subject, encodeCommand(cmd), this.partition, this.c.partitions);
    if (!input.ok) throw new Error(`intake rejected a bench command: ${input.rejection.message}`);
    const events = this.engine.apply(input.cmd, inSeq, LOG_TIME_START + inSeq);
    for (const e of events) {
      if (e.type === "trade") this.trades++;
      else if (e.type === "cancelled") this.cancels++;
      else if (e.type === "rejected") {
        this.rejections++;
        this.firstRejection ||= `${e.code}: ${e.message}`;
      }
    }
    if (inSeq % this.c.snapshotCommands === 0) this.snapshot();
    return events;
  }

  /** Places a passive order; it rests in slot `slot` (appended when slot is the count). */
  placePassive(slot: number): void {
    this.apply(this.workload.passive());
    this.restingIds[slot] = this.commands;
    this.restingAccounts[slot] = this.workload.lastAccount;
    if (slot === this.restingCount) this.restingCount++;
  }

  /** Phase 2, one step: one or two orders pass through; returns how many were placed. */
  churn(ordersLeft: number): number {
    if (ordersLeft >= 2 && this.workload.chance(0.5)) {
      const [maker, taker] = this.workload.fill();
      this.apply(maker);
      this.apply(taker);
      return 2;
    }
    const slot = this.workload.pick(this.restingCount);
    const id = this.restingIds[slot]!;
    const account = this.workload.accounts[this.restingAccounts[slot]!]!;
    this.placePassive(slot);
    this.apply(this.workload.cancel(id, account));
    return 1;
  }

  async sample(label: string, orders: number): Promise<void> {
    const t = performance.now();
    let bytes: Uint8Array | null = this.snapshot();
    const snapshotMs = performance.now() - t;
    const snapshotBytes = bytes.length;
    bytes = null;
    await this.settle();
    const memory = await sampleAfterGc();
    const sizes = engineSizes(this.engine);
    this.points.push({ label, orders, commands: this.commands, memory, sizes, snapshotBytes, snapshotMs, checkpoint: this.engine.checkpointKind });
    const mb = (n: number): string => (n / 1048576).toFixed(1);
    progress("memory", `[engine] ${label}: rss ${mb(memory.rss)} MB, heap ${mb(memory.heapUsed)} MB, external ${mb(memory.external)} MB; ${fmtInt(sizes.resting)} resting, ${fmtInt(sizes.terminal)} terminal, ${fmtInt(sizes.idempotency)} idempotency entries; snapshot ${mb(snapshotBytes)} MB in ${fmtInt(snapshotMs)} ms, rollback point ${this.engine.checkpointKind}`);
  }
}

async function run(c: ChildConfig): Promise<ChildResult> {
  const d = new Driver(c);
  try {
    return await drive(c, d);
  } finally {
    d.spillDir?.close();
  }
}

async function drive(c: ChildConfig, d: Driver): Promise<ChildResult> {
  d.apply(d.workload.market());
  await d.sample("empty engine", 0);
  const t1 = performance.now();
  const ticker1 = new ProgressTicker("memory", "[engine] placing resting orders", c.resting);
  let orders = 0;
  while (orders < c.resting) {
    d.placePassive(orders);
    orders++;
    if (d.pendingSpill) await d.settle();
    if (orders === c.nodeOrders && c.nodeOrders < c.resting) await d.sample(`${fmtInt(orders)} resting`, orders);
    ticker1.tick(orders);
  }
  const phase1Ms = performance.now() - t1;
  await d.sample(`${fmtInt(orders)} resting (${fmtInt(orders)} orders passed)`, orders);
  const t2 = performance.now();
  const marks = [2 * c.resting, 5 * c.resting].filter((m) => m < c.orders);
  const ticker2 = new ProgressTicker("memory", "[engine] orders passed through", c.orders);
  while (orders < c.orders) {
    orders += d.churn(c.orders - orders);
    if (d.pendingSpill) await d.settle();
    if (marks.length > 0 && orders >= marks[0]!) {
      marks.shift();
      await d.sample(`${fmtInt(orders)} orders passed`, orders);
    }
    ticker2.tick(orders);
  }
  const phase2Ms = performance.now() - t2;
  if (c.orders > c.resting) await d.sample(`${fmtInt(orders)} orders passed`, orders);
  if (d.rejections > 0) throw new Error(`${d.rejections} commands were rejected (first: ${d.firstRejection}): the workload is not what it claims`);
  return {
    points: d.points, commands: d.commands, trades: d.trades, cancels: d.cancels, rejections: d.rejections,
    peakRss: process.resourceUsage().maxRSS * 1024, phase1Ms, phase2Ms, partition: d.partition, engineOptions: d.engine.options,
  };
}

const send = (m: unknown): Promise<void> => new Promise((r) => (process.send ? process.send(m, () => r()) : r()));

try {
  const config = JSON.parse(process.argv[2] ?? "") as ChildConfig;
  await send({ result: await run(config) });
} catch (e) {
  await send({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
}
