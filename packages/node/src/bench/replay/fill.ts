/**
 * Fills one partition's command log (BOURSE_IN) with the mixed workload, as
 * publishers would (one message per command on bourse.in.<p>.<market>.<account>,
 * Nats-Msg-Id = cmdId), while an engine applies the same commands in step: it
 * tells the workload which orders still rest, gives the snapshot at the chosen
 * point, and knows the output sequence the log leads to.
 *
 * Then it marks that output as durable: one message on bourse.out.<p> whose
 * headers say every event up to the log's end is published. A partition that
 * recovers from this log therefore suppresses all its output, as a successor
 * does when it replays what its predecessor had already published.
 */
import { jetstream } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { PartitionEngine, encodeCommand, encodeEvents, type Command } from "@bourse/engine";
import { defaultNodeConfig } from "../../config.js";
import { intake } from "../../partition/command-intake.js";
import { saveSnapshot } from "../../partition/snapshot-store.js";
import { STREAM_IN, headers, subjects } from "../../protocol.js";
import type { ClusterHandles } from "../../provision.js";
import { ProgressTicker, progress } from "../common/progress.js";
import { PublishWindow } from "../common/publish-window.js";
import { MixedWorkload } from "./workload.js";

/** In-flight acknowledged publishes while filling (the figure DESIGN.md measured JetStream with). */
const PUBLISH_WINDOW = 1_000;
const PUBLISH_MS_TIMEOUT = 30_000;
/** Node id written on the output marker. */
export const FILL_WRITER = "bench-fill";

export interface FillOptions {
  commands: number;
  /** Store a snapshot right after this command (0: none). */
  snapshotAt: number;
  seed: number;
  markets: number;
  accounts: number;
  partitions: number;
  partition: number;
}

export interface FillResult {
  /** Commands in the log: the markets' setup commands, then the mix. */
  commands: number;
  payloadBytesTotal: number;
  /** The snapshot stored at `snapshotAt`, or null. */
  snapshot: { bytes: Uint8Array; lastInSeq: number; seq: number; resting: number; encodeMs: number } | null;
  /** Events the commands after the snapshot produce (what a replay must reproduce). */
  eventsAfterSnapshot: number;
  /** Output sequence at the end of the log. */
  lastSeq: number;
  restingAtEnd: number;
  mix: { limits: number; markets: number; cancels: number };
  ms: number;
}

export async function fillCommandLog(nc: NatsConnection, handles: ClusterHandles, o: FillOptions): Promise<FillResult> {
  const started = performance.now();
  const js = jetstream(nc, { timeout: PUBLISH_MS_TIMEOUT });
  const window = new PublishWindow(js, PUBLISH_WINDOW);
  const engine = new PartitionEngine({ partition: o.partition, ...defaultNodeConfig.engine });
  const workload = new MixedWorkload({ seed: o.seed, partitions: o.partitions, partition: o.partition, markets: o.markets, accounts: o.accounts });
  const setup = workload.setup();
  const ticker = new ProgressTicker("replay", "filling BOURSE_IN", o.commands);
  let payloadBytesTotal = 0;
  let eventsAfterSnapshot = 0;
  let snapshot: FillResult["snapshot"] = null;
  for (let inSeq = 1; inSeq <= o.commands; inSeq++) {
    const cmd: Command = inSeq <= setup.length ? setup[inSeq - 1]! : workload.next(engine, inSeq);
    const subject = subjects.in(o.partition, cmd.kind === "market" ? cmd.symbol : (cmd as { market: string }).market, cmd.account);
    const data = encodeCommand(cmd);
    payloadBytesTotal += data.length;
    // The node's own intake, so the engine here sees exactly what a recovering partition will.
    const input = intake(subject, data, o.partition, o.partitions);
    if (!input.ok) throw new Error(`bench workload produced a command the node rejects at intake: ${input.rejection.message}`);
    const events = engine.apply(input.cmd, inSeq, Date.now());
    if (inSeq > o.snapshotAt) eventsAfterSnapshot += events.length;
    await window.publish(subject, data, { msgID: cmd.cmdId });
    if (inSeq === o.snapshotAt) {
      const t = performance.now();
      const bytes = engine.snapshot();
      const encodeMs = performance.now() - t;
      const meta = { partition: o.partition, seq: engine.lastSeq, lastInSeq: inSeq };
      await saveSnapshot(handles.snapshots, o.partition, bytes, meta);
      snapshot = { bytes, lastInSeq: inSeq, seq: engine.lastSeq, resting: engine.restingOrders, encodeMs };
      progress("replay", `snapshot stored after command ${inSeq}: ${engine.restingOrders} resting orders, ${bytes.length} bytes, encoded in ${Math.round(encodeMs)} ms`);
    }
    ticker.tick(inSeq);
  }
  await window.flush();
  if (window.duplicates > 0) throw new Error(`${window.duplicates} commands were dropped as duplicates by BOURSE_IN`);
  const state = (await handles.jsm.streams.info(STREAM_IN)).state;
  if (state.messages !== o.commands || state.last_seq !== o.commands)
    throw new Error(`BOURSE_IN holds ${state.messages} messages up to sequence ${state.last_seq}, expected ${o.commands}: sequences and order ids would not line up`);
  await markOutputDurable(js, o.partition, engine.lastSeq, o.commands);
  return {
    commands: o.commands,
    payloadBytesTotal,
    snapshot,
    eventsAfterSnapshot,
    lastSeq: engine.lastSeq,
    restingAtEnd: engine.restingOrders,
    mix: { ...workload.counts },
    ms: performance.now() - started,
  };
}

/** One output message saying events 1..lastSeq (caused by inputs up to lastInSeq) are durable. */
async function markOutputDurable(js: ReturnType<typeof jetstream>, p: number, lastSeq: number, lastInSeq: number): Promise<void> {
  const h = natsHeaders();
  h.set(headers.firstSeq, String(lastSeq));
  h.set(headers.lastSeq, String(lastSeq));
  h.set(headers.lastInSeq, String(lastInSeq));
  h.set(headers.node, FILL_WRITER);
  h.set(headers.epoch, "0");
  await js.publish(subjects.out(p), encodeEvents([]), { headers: h });
}
