/**
 * What `bourse status` flags: a partition whose agreed owner, lease holder and
 * the live members disagree, and a cluster with no live member or no table.
 * Lag is not a problem by itself (a busy partition always has a little); it is
 * shown, not flagged.
 *
 * Right after a member dies or joins, some of these hold for a moment (the table
 * moves first, then the new owner takes the lease): a problem that persists
 * across a few runs of status is one to act on.
 */
import type { LeaseStatus } from "./model.js";

/** Disagreements of one partition; empty when its assigned owner is live and holds its lease. */
export function partitionProblems(assigned: string | null, lease: LeaseStatus | null, live: ReadonlySet<string>): string[] {
  if (assigned === null) return [lease === null ? "unassigned, lease unheld" : `unassigned, lease held by ${lease.owner}`];
  const problems: string[] = [];
  if (!live.has(assigned)) problems.push(`assigned to ${assigned}, which is not live`);
  if (lease === null) problems.push(`assigned to ${assigned} but lease unheld`);
  else if (lease.owner !== assigned) problems.push(`assigned to ${assigned} but lease held by ${lease.owner}`);
  return problems;
}

/**
 * The cluster's problem lines: its own, then the partitions', one line per distinct
 * problem naming the partitions that have it ("partitions 0-3, 6: ...").
 */
export function clusterProblems(o: {
  liveMembers: number;
  hasAssignment: boolean;
  partitions: readonly { partition: number; problems: readonly string[] }[];
}): string[] {
  const out: string[] = [];
  if (o.liveMembers === 0) out.push("no live member: no node is running (or none can reach NATS)");
  if (!o.hasAssignment) out.push("no assignment table: no node has joined the cluster yet");
  const byProblem = new Map<string, number[]>();
  for (const p of o.partitions) for (const line of p.problems) byProblem.set(line, [...(byProblem.get(line) ?? []), p.partition]);
  for (const [line, ps] of byProblem) out.push(`${ps.length === 1 ? "partition" : "partitions"} ${ranges(ps)}: ${line}`);
  return out;
}

/** Ascending partitions as runs: 0-3, 6, 8-9. */
export function ranges(ps: readonly number[]): string {
  const sorted = [...ps].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return runs.join(", ");
}
