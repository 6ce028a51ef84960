/**
 * Recovery per fault and partition, from the nodes' "partition serving" lines:
 * from the moment a node was killed, paused or stopped to the moment each
 * partition it served was served again (by another node, or by itself once
 * repaired). A paused node whose partitions did not move before it resumed
 * recovered in place: that is an outage, but not a failover.
 */
import type { FaultRecord } from "./fault-injector.js";
import type { SimCluster } from "./sim-cluster.js";

/** A partition served again within this long after its paused owner resumed moved because of the pause. */
const MOVED_AFTER_RESUME_MS = 2_000;

export type RecoveryKind = "failover" | "handoff" | "resumed";

export interface Recovery {
  partition: number;
  target: string;
  fault: string;
  kind: RecoveryKind;
  ms: number;
  /** Who serves the partition afterwards. */
  node: string;
}

export interface RecoveryAnalysis {
  recoveries: Recovery[];
  /** (fault, partition) pairs never served again (the drain check reports them too). */
  unrecovered: { partition: number; target: string; fault: string }[];
}

export function analyseRecoveries(records: readonly FaultRecord[], cluster: SimCluster): RecoveryAnalysis {
  const recoveries: Recovery[] = [];
  const unrecovered: RecoveryAnalysis["unrecovered"] = [];
  for (const r of records) {
    if (r.fault.target !== "node") continue;
    for (const p of r.partitions) {
      const ev = cluster.servedAfter(p, r.at);
      const base = { partition: p, target: r.target, fault: r.fault.fault };
      if (r.fault.fault === "pause") {
        const resumedAt = r.repairedAt ?? Number.POSITIVE_INFINITY;
        if (ev !== undefined && ev.at < resumedAt + MOVED_AFTER_RESUME_MS) recoveries.push({ ...base, kind: "failover", ms: ev.at - r.at, node: ev.node });
        else if (r.repairedAt !== undefined) recoveries.push({ ...base, kind: "resumed", ms: r.repairedAt - r.at, node: r.target });
        else unrecovered.push(base);
        continue;
      }
      if (ev === undefined) {
        unrecovered.push(base);
        continue;
      }
      recoveries.push({ ...base, kind: r.fault.fault === "restart" ? "handoff" : "failover", ms: ev.at - r.at, node: ev.node });
    }
  }
  return { recoveries, unrecovered };
}
