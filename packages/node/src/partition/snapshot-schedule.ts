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
