/**
 * `bourse bench replay`: how fast a partition rebuilds from snapshot plus
 * command log, against the raw ordered-consumer rate of the same stream, in
 * one run on a nats-server of its own (temp store, free port):
 *
 *   1. fill one partition's log with the seeded mix (fill.ts), storing a
 *      snapshot part-way and marking all output durable;
 *   2. raw: an ordered consumer over the replayed range, doing nothing;
 *   3. replay: the node's PartitionRunner recovers in this process (recovery.ts),
 *      on the node's default settings; timed from its own log lines;
 *   4. the same recovery with the snapshot schedule off (a diagnostic);
 *   5. raw again; checks: every command replayed, the same events as the fill.
 */
import { PartitionEngine } from "@bourse/engine";
import { exitCodes, leafCommand, type Parsed } from "../../cli/options.js";
import { defaultNodeConfig } from "../../config.js";
import { SnapshotReader, saveSnapshot, snapshotName } from "../../partition/snapshot-store.js";
import { startBenchNats, type BenchNats } from "../common/bench-nats.js";
import { CpuSampler, cpuText } from "../common/cpu.js";
import { describeMachine } from "../common/machine.js";
import { fmtInt, progress } from "../common/progress.js";
import { fillCommandLog, type FillResult } from "./fill.js";
import { benchReplayOptions, resolveSnapshotAt } from "./options.js";
import { rawConsume, type RawConsumeResult } from "./raw-consume.js";
import { nodeTuning, recoverOnce, type RecoveryRun } from "./recovery.js";
import { buildReport, renderReport } from "./report.js";

/** The partition the bench fills (its markets are chosen to hash there). */
const PARTITION = 0;
/** A snapshot schedule that never fires during the diagnostic run. */
const NEVER = { snapshotCommandsEvery: 100_000_000, snapshotMsEvery: 3_600_000 };

export const benchReplay = leafCommand({
  name: "replay",
  summary: "Replay rate of a partition (snapshot + command log, as a node recovers) against the raw ordered-consumer rate",
  options: benchReplayOptions,
  run: runBenchReplay,
});

async function runBenchReplay(o: Parsed<typeof benchReplayOptions>): Promise<number> {
  const snapshotAt = resolveSnapshotAt(o["snapshot-at"], o.commands, o.markets);
  const machine = describeMachine();
  const partitions = defaultNodeConfig.partitions;
  const tuning = nodeTuning();
  let nats: BenchNats | undefined;
  try {
    progress("replay", `starting a nats-server of its own`);
    nats = await startBenchNats(partitions);
    const { nc, handles } = nats;
    const server = nats.server;
    const cpu = new CpuSampler();
    cpu.watch("nats-server", () => server.pid);
    progress("replay", `filling partition ${PARTITION}'s log with ${fmtInt(o.commands)} commands (${nats.server.url}, store ${nats.server.storeDir})`);
    const fill = await fillCommandLog(nc, handles, {
      commands: o.commands, snapshotAt, seed: o.seed, markets: o.markets, accounts: o.accounts, partitions, partition: PARTITION,
    });
    progress("replay", `filled in ${fmtInt(fill.ms)} ms (${fmtInt((fill.commands * 1000) / fill.ms)} commands/s); ${fmtInt(fill.restingAtEnd)} orders rest at the end`);
    const from = snapshotAt + 1;

    const { fetchMs, decodeMs } = await timeSnapshotLoad(nats, snapshotAt);
    const raw: RawConsumeResult[] = [];
    const rawRound = async (): Promise<void> => {
      const r = await rawConsume(handles.js, PARTITION, from, o.commands, cpu);
      raw.push(r);
      progress("replay", `raw ordered consumer: ${fmtInt(r.msgs)} messages in ${fmtInt(r.ms)} ms = ${fmtInt(r.msgsPerS)} msgs/s (cpu ${cpuText(r.cpu)} cores)`);
    };
    await rawRound();
    progress("replay", `recovering partition ${PARTITION} with the node's partition loop (default settings)`);
    const recovery = await recoverOnce(nc, handles, PARTITION, tuning, o.commands - snapshotAt, cpu);
    progress("replay", describeRun(recovery));
    await resetSnapshot(nats, fill);
    progress("replay", `recovering again with the snapshot schedule off (diagnostic)`);
    const noSnapshots = await recoverOnce(nc, handles, PARTITION, { ...tuning, ...NEVER }, o.commands - snapshotAt, cpu);
    progress("replay", describeRun(noSnapshots));
    await rawRound();

    const problems = [...check("replay", recovery, fill, from, o.commands), ...check("replay without snapshots", noSnapshots, fill, from, o.commands)];
    const report = buildReport({
      fill, snapshotAt, fetchMs, decodeMs, raw, recovery, noSnapshots, markets: o.markets, accounts: o.accounts,
      partition: PARTITION, partitions, snapshotCommandsEvery: tuning.snapshotCommandsEvery, seed: o.seed, machine, problems,
    });
    process.stdout.write(o.json ? JSON.stringify(report) + "\n" : renderReport(report));
    for (const p of problems) process.stderr.write(`bench replay: PROBLEM: ${p}\n`);
    return problems.length === 0 ? exitCodes.ok : exitCodes.failed;
  } catch (e) {
    process.stderr.write(`bench replay: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return exitCodes.failed;
  } finally {
    await nats?.dispose();
  }
}

/** The snapshot's two costs at recovery, apart: fetching it from the object store, decoding it into an engine. */
async function timeSnapshotLoad(nats: BenchNats, snapshotAt: number): Promise<{ fetchMs: number; decodeMs: number }> {
  if (snapshotAt === 0) return { fetchMs: 0, decodeMs: 0 };
  const t0 = performance.now();
  const snap = await new SnapshotReader(nats.handles.jsm).load(PARTITION);
  const t1 = performance.now();
  if (!snap) throw new Error("the snapshot just stored is not in the object store");
  const engine = PartitionEngine.restore(snap.bytes, { partition: PARTITION, ...defaultNodeConfig.engine });
  const t2 = performance.now();
  progress("replay", `snapshot load: fetch ${fmtInt(t1 - t0)} ms, decode ${fmtInt(t2 - t1)} ms (${fmtInt(engine.restingOrders)} resting orders)`);
  return { fetchMs: t1 - t0, decodeMs: t2 - t1 };
}

/** The recovery stored newer snapshots: put the fill's back (or remove theirs), so the next run starts at the same point. */
async function resetSnapshot(nats: BenchNats, fill: FillResult): Promise<void> {
  const s = fill.snapshot;
  if (s) await saveSnapshot(nats.handles.snapshots, PARTITION, s.bytes, { partition: PARTITION, seq: s.seq, lastInSeq: s.lastInSeq });
  else await nats.handles.snapshots.delete(snapshotName(PARTITION)).catch(() => {});
}

function describeRun(r: RecoveryRun): string {
  return `recovered in ${fmtInt(r.recoveryMs)} ms (load ${fmtInt(r.loadMs)} ms, replay ${fmtInt(r.replayMs)} ms = ${fmtInt((r.replayed * 1000) / r.replayMs)} commands/s; cpu ${cpuText(r.cpu)} cores), ${r.snapshots} snapshots taken meanwhile`;
}

function check(what: string, r: RecoveryRun, fill: FillResult, from: number, last: number): string[] {
  const out: string[] = [];
  if (r.fromInSeq !== from - 1) out.push(`${what}: started after input ${r.fromInSeq}, expected the snapshot's ${from - 1}`);
  if (r.lastInSeq !== last) out.push(`${what}: ended at input ${r.lastInSeq}, expected ${last}`);
  if (r.replayed !== last - from + 1) out.push(`${what}: applied ${r.replayed} commands, expected ${last - from + 1}`);
  if (r.events !== fill.eventsAfterSnapshot) out.push(`${what}: produced ${r.events} events, the fill's engine ${fill.eventsAfterSnapshot} for the same commands`);
  for (const e of r.errors) out.push(`${what}: the partition logged: ${e}`);
  return out;
}
