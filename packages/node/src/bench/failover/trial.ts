/**
 * One trial: on a balanced cluster, signal the node that owns about a third of the
 * partitions (kill -9, or SIGTERM for a graceful handoff), measure every moved
 * partition from outside (./probe.ts) and from the nodes' logs (./breakdown.ts),
 * then restart the node with the same id and wait until the cluster is balanced
 * again, every output covering its log, before the next trial.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchCluster, Table } from "./bench-cluster.js";
import { breakdown, countLines, type Breakdown } from "./breakdown.js";
import { FAILOVER_METHOD as M } from "./options.js";
import type { Prober, ProbeResult } from "./probe.js";

export type TrialKind = "failover" | "handoff";

export interface MovedPartition extends ProbeResult {
  breakdown: Breakdown;
}

export interface TrialResult {
  kind: TrialKind;
  index: number;
  victim: string;
  moved: MovedPartition[];
  /** Moved partitions not served again within the trial timeout. */
  unrecovered: number[];
  /** "assignment CAS lost; re-reading" lines during the trial. */
  casLost: number;
  /** SIGTERM: the old node's own "node stopped" ms (its whole shutdown). */
  victimStopMs: number | null;
  /** Restart of the node until the cluster was balanced again (the moves back are handoffs too). */
  rebalanceMs: number;
}

/** Log lines arrive through pipes: give them this long after the client saw the last partition. */
const LOG_MS_GRACE = 300;

export async function runTrial(
  c: BenchCluster,
  prober: Prober,
  marketsByPartition: readonly (readonly string[])[],
  kind: TrialKind,
  index: number,
): Promise<TrialResult> {
  await sleep(M.settleMs);
  const table = await c.waitBalanced(M.balanceMsTimeout);
  const victim = pickVictim(table, c.ids, index);
  const moved = table.owners.flatMap((o, p) => (o === victim ? [{ partition: p, market: pick(marketsByPartition[p]!, index) }] : []));
  const proc = c.proc(victim);

  const t0Epoch = Date.now();
  const t0 = performance.now();
  proc.kill(kind === "failover" ? "SIGKILL" : "SIGTERM");
  if (kind === "failover") c.forget(victim);
  const results = await prober.probe(moved, victim, t0);
  await Promise.race([proc.waitExit(), sleep(10_000, undefined, { ref: false })]);
  if (proc.running) proc.kill("SIGKILL");
  await proc.waitExit();
  c.forget(victim);
  await sleep(LOG_MS_GRACE);
  const t1Epoch = Date.now();

  const stopped = c.lines.find((l) => l.nodeId === victim && l.msg === "node stopped" && l.time >= t0Epoch);
  const result: TrialResult = {
    kind,
    index,
    victim,
    moved: results.map((r) => ({ ...r, breakdown: breakdown(c.lines, t0Epoch, victim, r.partition) })),
    unrecovered: results.filter((r) => r.servedMs === null).map((r) => r.partition),
    casLost: countLines(c.lines, "assignment CAS lost; re-reading", t0Epoch, t1Epoch),
    victimStopMs: typeof stopped?.["ms"] === "number" ? stopped["ms"] : null,
    rebalanceMs: 0,
  };

  const restartAt = performance.now();
  await c.startNode(victim);
  await c.waitBalanced(M.balanceMsTimeout);
  result.rebalanceMs = Math.round(performance.now() - restartAt);
  return result;
}

/**
 * The node to signal: taking turns over the nodes, the first from `index` on that
 * owns ⌊P/N⌋ or ⌈P/N⌉ partitions (about a third with three nodes).
 */
export function pickVictim(t: Table, ids: readonly string[], index: number): string {
  const lo = Math.floor(t.owners.length / ids.length);
  const hi = Math.ceil(t.owners.length / ids.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[(index + k) % ids.length]!;
    const n = t.owners.filter((o) => o === id).length;
    if (n >= lo && n <= hi && n > 0) return id;
  }
  throw new Error(`no node owns about 1/${ids.length} of the partitions: ${t.owners.join(",")}`);
}

function pick<T>(xs: readonly T[], i: number): T {
  return xs[i % xs.length]!;
}
