/** What `bourse bench replay` prints: one JSON object (--json) or a short table. */
import { fmtInt, round } from "../common/progress.js";
import { formatMachine, type Machine } from "../common/machine.js";
import { cpuText, type CpuShares } from "../common/cpu.js";
import type { FillResult } from "./fill.js";
import type { RawConsumeResult } from "./raw-consume.js";
import type { RecoveryRun } from "./recovery.js";

/** Shown by the bench, never asserted (issue 6). */
export const REPLAY_RATIO_TARGET = 0.8;

export interface ReplayReport {
  replay_cmds_per_s: number;
  raw_consume_msgs_per_s: number;
  ratio: number;
  target_ratio: number;
  commands: number;
  replayed_commands: number;
  snapshot_at: number;
  payload_bytes_avg: number;
  snapshot_bytes: number;
  snapshot_resting_orders: number;
  snapshot_encode_ms: number;
  snapshot_fetch_ms: number;
  snapshot_decode_ms: number;
  snapshot_load_ms: number;
  recovery_ms: number;
  replay_ms: number;
  recovery_cmds_per_s: number;
  snapshots_during_replay: number;
  snapshot_ms_during_replay: number;
  replay_no_snapshots_cmds_per_s: number;
  ratio_no_snapshots: number;
  recovery_no_snapshots_ms: number;
  raw_rounds_msgs_per_s: number[];
  /** Cores used by the nats-server and the bench process in each raw round, and during the replay (default settings). */
  raw_rounds_cpu: CpuShares[];
  replay_cpu: CpuShares;
  events_replayed: number;
  fill_cmds_per_s: number;
  resting_orders_at_end: number;
  mix: FillResult["mix"];
  markets: number;
  accounts: number;
  partition: number;
  partitions: number;
  snapshot_commands_every: number;
  seed: number;
  machine: Machine;
  /** Whether each recovery logged "partition serving" (see RecoveryRun.servingLogged). */
  serving_logged: boolean[];
  /** Behaviour of the node noticed on the way; the figures stand. */
  notes: string[];
  /** Empty when every check passed. */
  problems: string[];
}

export interface ReplayInputs {
  fill: FillResult;
  snapshotAt: number;
  fetchMs: number;
  decodeMs: number;
  raw: RawConsumeResult[];
  recovery: RecoveryRun;
  noSnapshots: RecoveryRun;
  markets: number;
  accounts: number;
  partition: number;
  partitions: number;
  snapshotCommandsEvery: number;
  seed: number;
  machine: Machine;
  problems: string[];
}

export function buildReport(i: ReplayInputs): ReplayReport {
  const rate = (n: number, ms: number): number => (ms > 0 ? Math.round((n * 1000) / ms) : 0);
  const rawRates = i.raw.map((r) => Math.round(r.msgsPerS));
  const raw = Math.round(rawRates.reduce((a, b) => a + b, 0) / rawRates.length);
  const r = i.recovery;
  const replay = rate(r.replayed, r.replayMs);
  const replayNoSnap = rate(i.noSnapshots.replayed, i.noSnapshots.replayMs);
  const snap = i.fill.snapshot;
  return {
    replay_cmds_per_s: replay,
    raw_consume_msgs_per_s: raw,
    ratio: round(replay / raw, 3),
    target_ratio: REPLAY_RATIO_TARGET,
    commands: i.fill.commands,
    replayed_commands: r.replayed,
    snapshot_at: i.snapshotAt,
    payload_bytes_avg: round(i.fill.payloadBytesTotal / i.fill.commands, 1),
    snapshot_bytes: snap?.bytes.length ?? 0,
    snapshot_resting_orders: snap?.resting ?? 0,
    snapshot_encode_ms: round(snap?.encodeMs ?? 0),
    snapshot_fetch_ms: round(i.fetchMs),
    snapshot_decode_ms: round(i.decodeMs),
    snapshot_load_ms: round(r.loadMs),
    recovery_ms: round(r.recoveryMs),
    replay_ms: round(r.replayMs),
    recovery_cmds_per_s: rate(r.replayed, r.recoveryMs),
    snapshots_during_replay: r.snapshots,
    snapshot_ms_during_replay: round(r.snapshotMs),
    replay_no_snapshots_cmds_per_s: replayNoSnap,
    ratio_no_snapshots: round(replayNoSnap / raw, 3),
    recovery_no_snapshots_ms: round(i.noSnapshots.recoveryMs),
    raw_rounds_msgs_per_s: rawRates,
    raw_rounds_cpu: i.raw.map((x) => x.cpu),
    replay_cpu: r.cpu,
    events_replayed: r.events,
    fill_cmds_per_s: rate(i.fill.commands, i.fill.ms),
    resting_orders_at_end: i.fill.restingAtEnd,
    mix: i.fill.mix,
    markets: i.markets,
    accounts: i.accounts,
    partition: i.partition,
    partitions: i.partitions,
    snapshot_commands_every: i.snapshotCommandsEvery,
    seed: i.seed,
    machine: i.machine,
    serving_logged: [r.servingLogged, i.noSnapshots.servingLogged],
    notes: [...r.notes.map((n) => `replay: ${n}`), ...i.noSnapshots.notes.map((n) => `replay without snapshots: ${n}`)],
    problems: i.problems,
  };
}

export function renderReport(r: ReplayReport): string {
  const ms = (n: number): string => `${fmtInt(n)} ms`;
  const rows: [string, string][] = [
    ["machine", formatMachine(r.machine)],
    ["log", `${fmtInt(r.commands)} commands on partition ${r.partition} (${r.markets} markets, ${fmtInt(r.accounts)} accounts, seed 0x${r.seed.toString(16)}), ${r.payload_bytes_avg} B per payload, ${fmtInt(r.resting_orders_at_end)} resting at the end`],
    ["snapshot", r.snapshot_at === 0 ? "none: recovery replays the whole log" : `after command ${fmtInt(r.snapshot_at)}: ${fmtInt(r.snapshot_resting_orders)} resting orders, ${fmtInt(r.snapshot_bytes)} B; fetch ${ms(r.snapshot_fetch_ms)}, decode ${ms(r.snapshot_decode_ms)}`],
    ["raw ordered consumer", `${fmtInt(r.raw_consume_msgs_per_s)} msgs/s (rounds: ${r.raw_rounds_msgs_per_s.map(fmtInt).join(", ")})`],
    ["  cpu (cores)", r.raw_rounds_cpu.map(cpuText).join("; ")],
    ["replay (as a node recovers)", `${fmtInt(r.replay_cmds_per_s)} commands/s over ${fmtInt(r.replayed_commands)} commands; ratio ${r.ratio} (target >= ${r.target_ratio})`],
    ["  recovery", `${ms(r.recovery_ms)} = load ${ms(r.snapshot_load_ms)} + replay ${ms(r.replay_ms)}; ${r.snapshots_during_replay} snapshots taken meanwhile (every ${fmtInt(r.snapshot_commands_every)} commands), ${ms(r.snapshot_ms_during_replay)} in them`],
    ["  cpu (cores)", cpuText(r.replay_cpu)],
    ["replay without snapshots", `${fmtInt(r.replay_no_snapshots_cmds_per_s)} commands/s; ratio ${r.ratio_no_snapshots} (diagnostic: the node's snapshot schedule switched off)`],
  ];
  const width = Math.max(...rows.map(([a]) => a.length));
  const lines = rows.map(([a, b]) => `${a.padEnd(width)}  ${b}`);
  for (const n of r.notes) lines.push(`NOTE: ${n}`);
  for (const p of r.problems) lines.push(`PROBLEM: ${p}`);
  return lines.join("\n") + "\n";
}
