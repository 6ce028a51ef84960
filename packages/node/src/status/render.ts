/**
 * `bourse status` for people: a few header lines (cluster, server, warnings,
 * streams), then tables of members, partitions and the last owner changes, then
 * the problems. `--json` prints the ClusterStatus itself instead.
 */
import type { ClusterStatus, MemberStatus, OwnerChange, PartitionStatus, StreamStatus } from "./model.js";

export function renderStatus(s: ClusterStatus, now: number = Date.parse(s.at)): string {
  const out: string[] = [];
  out.push(`Bourse cluster: ${s.cluster.partitions} partitions, created ${s.cluster.createdAt}`);
  const sv = s.server;
  out.push(`nats-server ${sv.version} at ${sv.url} (name ${sv.name}${sv.cluster ? `, NATS cluster ${sv.cluster}` : ", not clustered"})`);
  for (const w of sv.warnings) out.push(`  warning: ${w.message}`);
  out.push(`streams: ${s.streams.map(streamText).join(", ")}`);

  const live = s.members.filter((m) => m.live).length;
  out.push("", `Members: ${live} live of ${s.members.length} (live: a heartbeat arrived within ${s.liveWindowMs} ms)`);
  if (s.members.length === 0) out.push("  (none: no node has a heartbeat in bourse_members)");
  else out.push(...table(["MEMBER", "LIVE", "LAST HEARTBEAT", "UP", "HTTP"], s.members.map((m) => memberRow(m, now)), [false, false, true, true, true]));

  const held = s.partitions.filter((p) => p.problems.length === 0).length;
  const lag = s.partitions.reduce((n, p) => n + p.lag, 0);
  const table_ = s.assignment ? `assignment rev ${s.assignment.revision} for ${s.assignment.members.join(", ")}` : "no assignment table";
  out.push("", `Partitions: ${held} of ${s.cluster.partitions} held by their live assigned owner; total lag ${lag} (${table_})`);
  out.push(
    ...table(["P", "ASSIGNED", "LEASE", "EPOCH", "LOGGED", "DURABLE", "LAG", "PROBLEM"], s.partitions.map(partitionRow), [true, false, false, true, true, true, true, false]),
  );

  out.push("", `Last owner changes, newest first (failover: taken from a holder that never released it)`);
  if (s.ownerChanges.length === 0) out.push(s.leaseHistory <= 1 ? "  (unknown: bourse_leases keeps no history; a node of this version raises it when it starts)" : "  (none)");
  else out.push(...table(["WHEN", "AGO", "P", "FROM", "TO", "KIND", "EPOCH"], s.ownerChanges.map((c) => changeRow(c, now)), [false, true, true, false, false, false, true]));

  out.push("", s.problems.length === 0 ? "Problems: none" : `Problems (${s.problems.length}):`);
  for (const p of s.problems) out.push(`  ${p}`);
  return `${out.join("\n")}\n`;
}

function streamText(st: StreamStatus): string {
  const where = [`R${st.replicas}`, ...(st.leader ? [`leader ${st.leader}`] : []), ...(st.laggingReplicas.length > 0 ? [`behind: ${st.laggingReplicas.join(" ")}`] : [])];
  return `${st.name} ${st.messages} msgs (${where.join(", ")})`;
}

function memberRow(m: MemberStatus, now: number): string[] {
  // A member that is not live was up until its last heartbeat.
  const until = m.live ? now : Date.parse(m.lastHeartbeatAt);
  const up = m.startedAt === null ? "-" : duration(until - Date.parse(m.startedAt));
  return [m.id, m.live ? (m.leaving ? "leaving" : "yes") : "NO", `${duration(m.ageMs)} ago`, up, m.httpPort === null ? "-" : String(m.httpPort)];
}

function partitionRow(p: PartitionStatus): string[] {
  return [
    String(p.partition),
    p.assigned ?? "-",
    p.lease?.owner ?? "(unheld)",
    p.lease ? String(p.lease.epoch) : "-",
    String(p.inSeq),
    String(p.durableInSeq),
    String(p.lag),
    p.problems.join("; "),
  ];
}

function changeRow(c: OwnerChange, now: number): string[] {
  return [c.at, duration(now - Date.parse(c.at)), String(c.partition), c.from ?? "-", c.to ?? "-", c.kind, String(c.epoch)];
}

/** 45 ms, 3.2 s, 4m 05s, 2h 10m, 3d 4h. */
export function duration(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 1_000) return `${Math.round(t)} ms`;
  if (t < 60_000) return `${(t / 1_000).toFixed(1)} s`;
  const s = Math.floor(t / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h ${String(Math.floor((s % 3_600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3_600)}h`;
}

/** Rows under a header, columns padded to their widest cell; `right` aligns a column to the right. */
function table(header: string[], rows: string[][], right: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    `  ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")}`.trimEnd();
  return [line(header), ...rows.map(line)];
}
