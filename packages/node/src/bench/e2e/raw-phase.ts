/**
 * Phase 1, the raw limit: JetStream acknowledged publishes of a payload as large
 * as a Bourse place command into a plain stream (file storage, one replica,
 * nothing else on it) on the benchmark's own server, from the same number of
 * publisher connections with the same window, closed loop on acknowledgements.
 * Publishes go through the same publishCommand as Bourse commands (Nats-Msg-Id,
 * Content-Type header), so the only difference to a Bourse publisher is what
 * happens to the message after it is stored. The stream is deleted afterwards.
 */
import { randomFillSync } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { partitionOf } from "../../partitioning.js";
import { CpuSampler, type CpuShares } from "../common/cpu.js";
import { closedLoop } from "./load-loops.js";
import type { BenchPublisher } from "./publisher.js";
import { cmdIdOf } from "./workload.js";

export const RAW_STREAM = "BENCH_RAW";
const RAW_SUBJECTS = "bench.in.>";

export interface RawResult {
  msgsPerS: number;
  acked: number;
  durationS: number;
  failed: number;
  cpu: CpuShares;
}

export interface RawPhaseInput {
  nc: NatsConnection;
  publishers: readonly BenchPublisher[];
  payloadBytes: number;
  window: number;
  markets: readonly string[];
  partitions: number;
  warmupMs: number;
  durationMs: number;
  tag: string;
  cpu: CpuSampler;
}

export async function runRawPhase(i: RawPhaseInput): Promise<RawResult> {
  const jsm = await jetstreamManager(i.nc);
  await jsm.streams.add({
    name: RAW_STREAM,
    subjects: [RAW_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: 1,
  });
  try {
    const payload = randomFillSync(new Uint8Array(i.payloadBytes));
    // Subjects shaped like bourse.in.<p>.<market>.<account>, of the same length.
    const subjectsOf = (pub: number): string[] =>
      i.markets.map((m) => `bench.in.${partitionOf(m, i.partitions)}.${m}.acct-${String(pub).padStart(3, "0")}-000`);
    const counters = i.publishers.map(() => ({ n: 0 }));
    const drive = (endAt: number) =>
      Promise.all(
        i.publishers.map((pub, k) => {
          const subs = subjectsOf(k);
          const c = counters[k]!;
          return closedLoop(
            {
              outstanding: () => pub.inFlight,
              send: () => {
                const n = c.n++;
                pub.publish(subs[n % subs.length]!, payload, cmdIdOf(i.tag, k, n), () => {});
              },
              next: () => pub.nextAck(),
            },
            i.window,
            endAt,
          );
        }),
      );
    await drive(performance.now() + i.warmupMs);
    const acked0 = sum(i.publishers.map((p) => p.acked));
    const failed0 = sum(i.publishers.map((p) => p.failed));
    const t0 = performance.now();
    i.cpu.start();
    await drive(t0 + i.durationMs);
    const t1 = performance.now();
    const acked = sum(i.publishers.map((p) => p.acked)) - acked0;
    const cpu = i.cpu.stop();
    await Promise.all(i.publishers.map((p) => p.settled()));
    const failed = sum(i.publishers.map((p) => p.failed)) - failed0;
    const durationS = (t1 - t0) / 1000;
    return { msgsPerS: acked / durationS, acked, durationS, failed, cpu };
  } finally {
    await jsm.streams.delete(RAW_STREAM).catch(() => false);
    // Let the server finish removing the stream's files before the next phase.
    await sleep(200);
  }
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
