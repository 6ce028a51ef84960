/**
 * Where the time of one moved partition goes, from the new owner's own log lines
 * (epoch-ms `time`, the machine's one clock), each phase ending at the first line
 * of its kind after the signal:
 *
 *   detection  signal → the first "membership changed" naming the old owner in `left`, on
 *              any surviving node (kill: the failure detector's deadline; SIGTERM: the old
 *              node's leave, which it sends after handing every partition off)
 *   agreement  → the new owner's "assignment applied" whose `owned` has the partition (the
 *              table may come from the survivor that noticed first)
 *   lease      → "lease acquired" (its `waitMs`: waiting for a live previous owner's release)
 *   snapshot   → "partition recovering" (output position read, snapshot loaded, engine restored;
 *              the line's positionMs, snapshotReadMs and restoreMs split it)
 *   replay     → "partition serving" (consumer set up, commands logged after the snapshot applied;
 *              the line's consumerMs and replayed say how long the set-up took and how many)
 *   client     → the outside client saw both a query answer and the probe's report
 */
import type { NodeLine } from "./bench-cluster.js";

export interface Breakdown {
  /** Who serves the partition afterwards (its first "partition serving" after the signal). */
  node: string | undefined;
  detectionMs: number | null;
  agreementMs: number | null;
  leaseMs: number | null;
  /** Part of leaseMs: awaiting the previous owner's release (its own figure, not a difference). */
  leaseWaitMs: number | null;
  snapshotMs: number | null;
  replayMs: number | null;
  /** Parts of snapshotMs and replayMs, and the commands replayed, from the lines' own fields. */
  positionMs: number | null;
  snapshotReadMs: number | null;
  restoreMs: number | null;
  consumerMs: number | null;
  replayed: number | null;
  /** Signal → the node's "partition serving" line. */
  nodeServingMs: number | null;
  /** The node's own recoveryMs (runner start → serving). */
  nodeRecoveryMs: number | null;
}

export function breakdown(lines: readonly NodeLine[], t0Epoch: number, oldOwner: string, p: number): Breakdown {
  const after = lines.filter((l) => l.time >= t0Epoch && l.nodeId !== oldOwner);
  const serving = after.find((l) => l.msg === "partition serving" && l.partition === p);
  const node = serving?.nodeId;
  const at = (pred: (l: NodeLine) => boolean): number | null => {
    if (node === undefined) return null;
    const l = after.find((x) => x.nodeId === node && pred(x));
    return l ? l.time : null;
  };
  const detected = after.find((l) => l.msg === "membership changed" && ((l["left"] as string[] | undefined) ?? []).includes(oldOwner))?.time ?? null;
  const agreed = at((l) => l.msg === "assignment applied" && ((l["owned"] as number[] | undefined) ?? []).includes(p));
  const leaseLine = node === undefined ? undefined : after.find((l) => l.nodeId === node && l.msg === "lease acquired" && l.partition === p);
  const recoveringLine = node === undefined ? undefined : after.find((l) => l.nodeId === node && l.msg === "partition recovering" && l.partition === p);
  const recovering = recoveringLine?.time ?? null;
  const num = (l: NodeLine | undefined, k: string): number | null => (typeof l?.[k] === "number" ? l[k] : null);
  const servingAt = serving?.time ?? null;
  const d = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : b - a);
  const leaseAt = leaseLine?.time ?? null;
  return {
    node,
    detectionMs: d(t0Epoch, detected),
    agreementMs: d(detected, agreed),
    leaseMs: d(agreed, leaseAt),
    leaseWaitMs: typeof leaseLine?.["waitMs"] === "number" ? leaseLine["waitMs"] : null,
    snapshotMs: d(leaseAt, recovering),
    replayMs: d(recovering, servingAt),
    positionMs: num(recoveringLine, "positionMs"),
    snapshotReadMs: num(recoveringLine, "snapshotReadMs"),
    restoreMs: num(recoveringLine, "restoreMs"),
    consumerMs: num(serving, "consumerMs"),
    replayed: num(serving, "replayed"),
    nodeServingMs: d(t0Epoch, servingAt),
    nodeRecoveryMs: typeof serving?.["recoveryMs"] === "number" ? serving["recoveryMs"] : null,
  };
}

/** Lines of `kind` logged by nodes between two epoch times. */
export function countLines(lines: readonly NodeLine[], msg: string, from: number, to: number): number {
  return lines.filter((l) => l.msg === msg && l.time >= from && l.time <= to).length;
}
