/**
 * When a partition's next time-triggered snapshot falls due: the first instant at least
 * half an interval after `after` that lies in the partition's own slot of the interval
 * (partition p of P at p/P of it). Time-triggered snapshots then stay spread over the
 * interval however the previous ones were triggered. Counting the interval from each
 * partition's last snapshot instead kept partitions that snapshotted together together
 * for good: when a burst of load ends, every partition takes its quiet-time snapshot at
 * the same moment, and from then on all of them encoded in the same few hundred
 * milliseconds of every interval, saturating the machine's cores while commands waited
 * (bench e2e, p99 at low rates). The gap between two snapshots is between half and one and
 * a half intervals, one interval on average.
 *
 * Times are in milliseconds on any clock that all of a node's partitions share (the
 * runner uses performance.timeOrigin + performance.now(), monotonic and close to the wall
 * clock, so that nodes' slots roughly agree too).
 */
export function timedSnapshotDue(p: number, partitions: number, intervalMs: number, after: number): number {
  const offset = Math.floor((p * intervalMs) / Math.max(1, partitions));
  const from = after + intervalMs / 2;
  return from + ((((offset - from) % intervalMs) + intervalMs) % intervalMs);
}

/**
 * A snapshot whose slot has come is taken only when it is worth its cost. Encoding and
 * storing one costs in proportion to the whole state (every resting and terminal order
 * and remembered outcome: ~1 µs a unit on the 2-core test machine, more under load); what
 * it saves is the replay of the commands since the last one after a failover (~14 µs a
 * command, bench replay). A partition with a large state and a trickle of commands used
 * to re-encode all of it every interval for a handful of commands (bench e2e at an eighth
 * of the maximum: snapshots were 20 % of the nodes' CPU).
 */
export interface SnapshotWorthInput {
  /** Commands applied since the last snapshot. */
  commandsSince: number;
  /** The state's size (PartitionEngine.snapshotUnits). */
  units: number;
  /** Log positions between the last snapshot's and the last command applied (a replay reads that stretch of the shared log). */
  logStretch: number;
  /** Time since the last snapshot, ms. */
  ageMs: number;
  intervalMs: number;
}

/** A command replayed costs about this many units encoded (see above). */
export const UNITS_PER_REPLAYED_COMMAND = 20;
/** Never more commands than this to replay after a failover, whatever the state's size (21 partitions × 500 ≈ 0.15 s of replay). */
export const REPLAY_COMMANDS_MAX = 500;
/**
 * Nor a longer stretch of the shared log than this: nats-server 2.9 scans the stretch
 * to deliver a partition's share of it (ADR 0004; 21 partitions each replaying from
 * 100,000 messages back took 338–617 ms, so 10,000 costs a failover ~35–60 ms). This also
 * keeps what a burst leaves behind (fewer than the 100 commands that make a partition
 * snapshot when it goes quiet, but spread over the whole burst) from waiting 12 intervals.
 */
export const LOG_STRETCH_MAX = 10_000;
/** Nor a snapshot older than this many intervals. */
export const AGE_INTERVALS_MAX = 12;
/** A partition that goes quiet with this many commands since its snapshot takes one at once (see quietSnapshotWorth). */
export const QUIET_SNAPSHOT_COMMANDS = 100;

export function timedSnapshotWorth(x: SnapshotWorthInput): boolean {
  if (x.commandsSince <= 0) return false;
  return (
    x.commandsSince * UNITS_PER_REPLAYED_COMMAND >= x.units ||
    x.commandsSince >= REPLAY_COMMANDS_MAX ||
    x.logStretch >= LOG_STRETCH_MAX ||
    x.ageMs >= AGE_INTERVALS_MAX * x.intervalMs
  );
}

/**
 * A partition that has gone quiet (the runner: 500 ms without a command) takes a snapshot
 * at once, instead of at its next slot or count, with at least QUIET_SNAPSHOT_COMMANDS
 * commands since its last one, or with fewer spread over LOG_STRETCH_MAX positions of the
 * log (what a burst leaves behind): a failover right after a burst then replays nothing.
 */
export function quietSnapshotWorth(commandsSince: number, logStretch: number): boolean {
  return commandsSince >= QUIET_SNAPSHOT_COMMANDS || (commandsSince > 0 && logStretch >= LOG_STRETCH_MAX);
}
