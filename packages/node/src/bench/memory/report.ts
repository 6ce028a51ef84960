/** What `bourse bench memory` prints: one JSON object (--json) or a short table. */
import { fmtInt, mb, round } from "../common/progress.js";
import { formatMachine, type Machine } from "../common/machine.js";
import type { ChildResult, SamplePoint } from "./engine-child.js";
import type { NodeProbeResult } from "./node-probe.js";

/** Shown by the bench, never asserted (issue 6). */
export const MEMORY_TARGETS = { rssMbMax: 250, ratioMax: 1.1 } as const;

export const MEASURED =
  "engine: a child process (--expose-gc) mirroring one node partition (node's intake + PartitionEngine with the node's engine options, snapshots clearing the journal, big rollback points spilled to a file as the node's runner does); " +
  "node: a real `bourse node` process (default flags, 64 partitions), sampled idle and with --node-orders resting orders";

export interface PointReport {
  label: string;
  orders: number;
  commands: number;
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
  resting: number;
  terminal: number;
  idempotency_entries: number;
  idempotency_finished: number;
  snapshot_mb: number;
  snapshot_ms: number;
  /** Where the engine's rollback point was: "spilled" to a file, or in memory as snapshot "bytes" or an "image". */
  rollback_point: "bytes" | "image" | "spilled";
}

export interface NodeReport {
  orders: number;
  partitions: number;
  rss_mb_idle: number;
  heap_mb_idle: number;
  external_mb_idle: number;
  /** (idle node - empty engine process) / partitions: what each partition a node owns costs before any order. */
  idle_overhead_mb_per_partition: number;
  rss_mb_loaded: number;
  /** The node's event loop while it took the orders (and snapshotted them): its longest block and p99, ms. */
  loop_delay_ms_max_loading: number;
  loop_delay_ms_p99_loading: number;
  heap_mb_loaded: number;
  external_mb_loaded: number;
  /** The engine process with the same number of resting orders. */
  engine_rss_mb_same_orders: number | null;
  /** What the node adds around the engine: node loaded minus engine process at the same count. */
  overhead_rss_mb: number | null;
  rss_bytes_per_order: number;
  /** rss_mb_1m_resting plus the overhead: what one node would need with --resting orders. */
  rss_mb_resting_estimate: number | null;
  ingest_ms: number;
}

export interface MemoryReport {
  measured: string;
  rss_mb_1m_resting: number;
  rss_mb_after_10m: number;
  heap_mb_1m_resting: number;
  heap_mb_after_10m: number;
  external_mb_1m_resting: number;
  external_mb_after_10m: number;
  ratio_rss_after_10m_vs_1m: number;
  ratio_heap_after_10m_vs_1m: number;
  target_rss_mb_max: number;
  target_ratio_max: number;
  resting: number;
  orders: number;
  commands: number;
  trades: number;
  cancels: number;
  baseline_rss_mb: number;
  baseline_heap_mb: number;
  heap_bytes_per_resting_order: number;
  external_bytes_per_resting_order: number;
  rss_bytes_per_resting_order: number;
  snapshot_mb_1m_resting: number;
  snapshot_ms_1m_resting: number;
  peak_rss_mb: number;
  engine_ms: number;
  points: PointReport[];
  node: NodeReport | null;
  engine_options: { terminalOrdersMax: number; idempotencyMax: number; checkpointCommandsMax: number };
  snapshot_commands_every: number;
  rollback_spill_bytes: number;
  partition: number;
  accounts: number;
  seed: number;
  machine: Machine;
}

function point(p: SamplePoint): PointReport {
  const m = p.memory;
  return {
    label: p.label, orders: p.orders, commands: p.commands, rss_mb: mb(m.rss), heap_used_mb: mb(m.heapUsed), heap_total_mb: mb(m.heapTotal),
    external_mb: mb(m.external), resting: p.sizes.resting, terminal: p.sizes.terminal, idempotency_entries: p.sizes.idempotency,
    idempotency_finished: p.sizes.idempotencyFinished, snapshot_mb: mb(p.snapshotBytes), snapshot_ms: round(p.snapshotMs),
    rollback_point: p.checkpoint,
  };
}

export function buildReport(i: {
  child: ChildResult;
  node: NodeProbeResult | null;
  resting: number;
  orders: number;
  accounts: number;
  seed: number;
  snapshotCommands: number;
  rollbackSpillBytes: number;
  machine: Machine;
}): MemoryReport {
  const pts = i.child.points;
  const base = pts[0]!;
  const atResting = pts.find((p) => p.orders === i.resting && p.sizes.terminal === 0) ?? pts.find((p) => p.orders === i.resting)!;
  const after = pts[pts.length - 1]!;
  const perOrder = (k: "heapUsed" | "external" | "rss"): number => Math.round((atResting.memory[k] - base.memory[k]) / i.resting);
  const sameAsNode = i.node ? pts.find((p) => p.orders === i.node!.orders && p.sizes.terminal === 0) : undefined;
  let node: NodeReport | null = null;
  if (i.node) {
    const n = i.node;
    const overhead = sameAsNode ? n.loaded.rss - sameAsNode.memory.rss : null;
    node = {
      orders: n.orders, partitions: n.partitions,
      rss_mb_idle: mb(n.idle.rss), heap_mb_idle: mb(n.idle.heapUsed), external_mb_idle: mb(n.idle.external),
      idle_overhead_mb_per_partition: round((n.idle.rss - base.memory.rss) / n.partitions / 1048576, 2),
      rss_mb_loaded: mb(n.loaded.rss),
      loop_delay_ms_max_loading: round(n.loadingLoopDelay.maxMs), loop_delay_ms_p99_loading: round(n.loadingLoopDelay.p99Ms), heap_mb_loaded: mb(n.loaded.heapUsed), external_mb_loaded: mb(n.loaded.external),
      engine_rss_mb_same_orders: sameAsNode ? mb(sameAsNode.memory.rss) : null,
      overhead_rss_mb: overhead === null ? null : mb(overhead),
      rss_bytes_per_order: n.orders > 0 ? Math.round((n.loaded.rss - n.idle.rss) / n.orders) : 0,
      rss_mb_resting_estimate: overhead === null ? null : mb(atResting.memory.rss + overhead),
      ingest_ms: Math.round(n.ingestMs),
    };
  }
  const o = i.child.engineOptions;
  return {
    measured: MEASURED,
    rss_mb_1m_resting: mb(atResting.memory.rss),
    rss_mb_after_10m: mb(after.memory.rss),
    heap_mb_1m_resting: mb(atResting.memory.heapUsed),
    heap_mb_after_10m: mb(after.memory.heapUsed),
    external_mb_1m_resting: mb(atResting.memory.external),
    external_mb_after_10m: mb(after.memory.external),
    ratio_rss_after_10m_vs_1m: round(after.memory.rss / atResting.memory.rss, 3),
    ratio_heap_after_10m_vs_1m: round(after.memory.heapUsed / atResting.memory.heapUsed, 3),
    target_rss_mb_max: MEMORY_TARGETS.rssMbMax,
    target_ratio_max: MEMORY_TARGETS.ratioMax,
    resting: i.resting,
    orders: i.orders,
    commands: i.child.commands,
    trades: i.child.trades,
    cancels: i.child.cancels,
    baseline_rss_mb: mb(base.memory.rss),
    baseline_heap_mb: mb(base.memory.heapUsed),
    heap_bytes_per_resting_order: perOrder("heapUsed"),
    external_bytes_per_resting_order: perOrder("external"),
    rss_bytes_per_resting_order: perOrder("rss"),
    snapshot_mb_1m_resting: mb(atResting.snapshotBytes),
    snapshot_ms_1m_resting: round(atResting.snapshotMs),
    peak_rss_mb: mb(i.child.peakRss),
    engine_ms: Math.round(i.child.phase1Ms + i.child.phase2Ms),
    points: pts.map(point),
    node,
    engine_options: { terminalOrdersMax: o.terminalOrdersMax, idempotencyMax: o.idempotencyMax, checkpointCommandsMax: o.checkpointCommandsMax },
    snapshot_commands_every: i.snapshotCommands,
    rollback_spill_bytes: i.rollbackSpillBytes,
    partition: i.child.partition,
    accounts: i.accounts,
    seed: i.seed,
    machine: i.machine,
  };
}

export function renderReport(r: MemoryReport): string {
  const lines = [
    `machine: ${formatMachine(r.machine)}`,
    `measured: ${r.measured}`,
    "",
    "engine process (one partition as a node runs it), after a forced GC:",
  ];
  const head = ["sample", "orders passed", "resting", "terminal", "idempotency", "rss MB", "heap MB", "external MB", "snapshot MB", "snapshot ms", "rollback point"];
  const rows = r.points.map((p) => [p.label, fmtInt(p.orders), fmtInt(p.resting), fmtInt(p.terminal), fmtInt(p.idempotency_entries), String(p.rss_mb), String(p.heap_used_mb), String(p.external_mb), String(p.snapshot_mb), fmtInt(p.snapshot_ms), p.rollback_point]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const fmt = (row: string[]): string => "  " + row.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join("  ");
  lines.push(fmt(head), ...rows.map(fmt), "");
  lines.push(
    `rss with ${fmtInt(r.resting)} resting: ${r.rss_mb_1m_resting} MB (target <= ${r.target_rss_mb_max}); after ${fmtInt(r.orders)} orders: ${r.rss_mb_after_10m} MB; ratio ${r.ratio_rss_after_10m_vs_1m} (heap ${r.ratio_heap_after_10m_vs_1m}; target <= ${r.target_ratio_max})`,
    `per resting order: heap ${fmtInt(r.heap_bytes_per_resting_order)} B, external ${fmtInt(r.external_bytes_per_resting_order)} B, rss ${fmtInt(r.rss_bytes_per_resting_order)} B; peak rss ${r.peak_rss_mb} MB`,
  );
  const n = r.node;
  if (n) {
    lines.push(
      "",
      `real node (${n.partitions} partitions): idle rss ${n.rss_mb_idle} MB (heap ${n.heap_mb_idle}, external ${n.external_mb_idle}; ${n.idle_overhead_mb_per_partition} MB per partition over the empty engine process); with ${fmtInt(n.orders)} resting rss ${n.rss_mb_loaded} MB (heap ${n.heap_mb_loaded}, external ${n.external_mb_loaded}), ${fmtInt(n.rss_bytes_per_order)} B per order; its event loop blocked at most ${n.loop_delay_ms_max_loading} ms while it took them (p99 ${n.loop_delay_ms_p99_loading} ms)`,
      n.overhead_rss_mb === null
        ? "  (no engine sample at the same count to compare with)"
        : `  engine process at the same count: ${n.engine_rss_mb_same_orders} MB, so the node adds ${n.overhead_rss_mb} MB; estimate for one node with ${fmtInt(r.resting)} resting: ${n.rss_mb_resting_estimate} MB`,
    );
  }
  return lines.join("\n") + "\n";
}
