import type { JetStreamClient } from "@nats-io/jetstream";
import { STREAM_IN, STREAM_OUT, subjects } from "../protocol.js";
import { checkPartition, type PartitionReport } from "./check-partition.js";
import type { Violation } from "./violation.js";
import { readStream } from "./durable-log.js";

export interface ClusterReport {
  partitions: PartitionReport[];
  violations: Violation[];
  commands: number;
  events: number;
  trades: number;
}

/**
 * Checks every partition's durable state (checks 4 and 5 of the simulation, and 2
 * and 3 through the model), and that every acknowledged cmdId reached the log.
 */
export async function checkCluster(js: JetStreamClient, partitions: number, acked: Iterable<string> = [], only?: readonly number[]): Promise<ClusterReport> {
  const reports: PartitionReport[] = [];
  for (const p of only ?? Array.from({ length: partitions }, (_, i) => i)) {
    const input = await readStream(js, STREAM_IN, subjects.inPartition(p));
    const output = await readStream(js, STREAM_OUT, subjects.out(p));
    reports.push(checkPartition(p, partitions, input, output));
  }
  const violations = reports.flatMap((r) => r.violations);
  const logged = new Set<string>();
  for (const r of reports) for (const id of r.cmdIds) logged.add(id);
  for (const id of acked) {
    if (!logged.has(id)) violations.push({ check: "acked_not_logged", partition: -1, cmdId: id, detail: `command ${id} was acknowledged but is not in ${STREAM_IN}` });
  }
  return {
    partitions: reports,
    violations,
    commands: reports.reduce((a, r) => a + r.commands, 0),
    events: reports.reduce((a, r) => a + r.events, 0),
    trades: reports.reduce((a, r) => a + r.trades, 0),
  };
}
