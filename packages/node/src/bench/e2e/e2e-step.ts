/**
 * One measured step of the end-to-end phase: the publishers drive commands into
 * BOURSE_IN for a fixed time, closed loop (a window of commands not yet
 * reported per publisher) or open loop (a fixed rate), while the report listener
 * completes them. Throughput counts commands whose execution report arrived
 * during the step: reports are sent only once the command's output batch is
 * durable in BOURSE_OUT. After the step, the output lag is read and every
 * command still out is waited for, which says whether the step kept up.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { STREAM_OUT } from "../../protocol.js";
import type { CommandLedger } from "./command-ledger.js";
import type { CpuSampler, CpuShares } from "../common/cpu.js";
import { closedLoop, openLoop, type OpenLoopResult } from "./load-loops.js";
import { recoverFromOutput } from "./out-recovery.js";
import { readOutputLag } from "./output-lag.js";
import type { BenchPublisher } from "./publisher.js";
import type { PlaceWorkload } from "./workload.js";

const DRAIN_POLL_MS = 5;
/** No report for this long while commands are out: look for them in BOURSE_OUT (their reports may be lost). */
const DRAIN_STALL_MS = 3_000;

export interface E2eContext {
  publishers: readonly BenchPublisher[];
  workloads: readonly PlaceWorkload[];
  ledger: CommandLedger;
  window: number;
  jsm: JetStreamManager;
  js: JetStreamClient;
  /** The cmdId tag of this run's commands. */
  tag: string;
  /** Report messages the listener has received so far. */
  reportMessages: () => number;
  /** What the cluster did meanwhile (ownership changes), for a failure's message. */
  describeCluster: () => string;
  cpu: CpuSampler;
  drainMsTimeout: number;
}

export interface StepCriteria {
  /** Keeps up only if every command is reported within this long after publishing stops, and the output lag is as short. */
  lagMsMax: number;
  /** ... and the publishers sent at least this fraction of the schedule ... */
  sentFractionMin: number;
  /** ... and this fraction of the rate was reported within the step's time. */
  reportedFractionMin: number;
}

export interface StepResult {
  kind: "closed" | "open" | "warmup";
  /** Open loop: the scheduled rate (commands/s). */
  targetPerS: number | null;
  durationS: number;
  scheduled: number;
  sent: number;
  /** Open loop: slots published more than 5 ms late (window full or loop busy), and skipped. */
  late: number;
  skipped: number;
  /** Commands whose first report arrived during the step. */
  reported: number;
  cmdsPerS: number;
  sentFraction: number;
  /** From the end of publishing until every command sent was reported. */
  drainMs: number;
  /** Output Last-In-Seq lag when publishing stopped: command-log positions, and as time at the step's rate. */
  lagSeqs: number;
  lagMs: number;
  /** This process's event-loop delay during the step, ms (a busy benchmark process delays sends and reports). */
  benchLoopDelayMsP99: number;
  benchLoopDelayMsMax: number;
  /** BOURSE_IN acknowledgement time (publish call to ack), ms. */
  ackMsP50: number;
  ackMsP99: number;
  /** Output batches written to BOURSE_OUT per second, and commands per batch. */
  outBatchesPerS: number;
  cmdsPerBatch: number;
  /** Execution report messages (one per account per batch) received per second. */
  reportMsgsPerS: number;
  keptUp: boolean;
  /** Why it did not keep up ("" if it did). */
  why: string;
  cpu: CpuShares;
}

export class ReportsMissingError extends Error {
  override readonly name = "ReportsMissingError";
  readonly code = "reports_missing";
}

/** Publishes one of publisher k's commands, due at `due`, and records it in the ledger. */
function sendOne(ctx: E2eContext, k: number, due: number): void {
  const out = ctx.workloads[k]!.next();
  const { ledger } = ctx;
  ledger.sentBy(k, out.n, due, performance.now(), out.partition);
  ctx.publishers[k]!.publish(out.subject, out.data, out.cmdId, (seq) => (seq !== null ? ledger.ackedBy(k, out.n, seq, out.partition, performance.now()) : ledger.failedBy(k, out.n)));
}

export async function runStep(
  ctx: E2eContext,
  kind: StepResult["kind"],
  rate: number | null,
  durationMs: number,
  criteria: StepCriteria,
): Promise<StepResult> {
  const { ledger } = ctx;
  const reported0 = ledger.reported;
  const out0 = await outMessages(ctx);
  const reports0 = ctx.reportMessages();
  ledger.ackLatency.reset();
  const t0 = performance.now();
  const startedAtEpochMs = Date.now();
  const endAt = t0 + durationMs;
  if (kind !== "warmup") ctx.cpu.start();
  // Throughput counts reports within the scheduled window, even if a publisher that fell behind publishes past it.
  const reportedAtEnd = new Promise<number>((resolve) => setTimeout(() => resolve(ledger.reported), durationMs));
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  let loops: OpenLoopResult[];
  if (rate === null) {
    const sent0 = ledger.sent;
    await Promise.all(
      ctx.publishers.map((_, k) =>
        closedLoop(
          {
            outstanding: () => ctx.workloads[k]!.made - ledger.reportedOf(k),
            send: () => sendOne(ctx, k, performance.now()),
            next: () => ledger.nextReport(k),
          },
          ctx.window,
          endAt,
        ),
      ),
    );
    const sent = ledger.sent - sent0;
    loops = [{ scheduled: sent, sent, late: 0, skipped: 0 }];
  } else {
    const perPublisher = rate / ctx.publishers.length;
    // Publishers start staggered within one slot, so their bursts do not coincide.
    loops = await Promise.all(
      ctx.publishers.map((pub, k) =>
        openLoop(
          { inFlight: () => pub.inFlight, send: (due) => sendOne(ctx, k, due), nextAck: () => pub.nextAck() },
          perPublisher,
          ctx.window,
          t0 + (k * 1000) / rate,
          endAt,
        ),
      ),
    );
  }
  const t1 = performance.now();
  loopDelay.disable();
  const reported = (await reportedAtEnd) - reported0;
  const reportMsgs = ctx.reportMessages() - reports0;
  const outs = (await outMessages(ctx)) - out0;
  const cpu = kind === "warmup" ? {} : ctx.cpu.stop();
  const lagReading = readOutputLag(ctx.jsm, new Map(ledger.lastAckedSeq));
  const drainMs = await drain(ctx, t1, startedAtEpochMs);
  const lag = await lagReading;
  const durationS = durationMs / 1000;
  const scheduled = sum(loops.map((l) => l.scheduled));
  const sent = sum(loops.map((l) => l.sent));
  const cmdsPerS = reported / durationS;
  const ratePerMs = (rate ?? cmdsPerS) / 1000;
  const lagMs = ratePerMs > 0 ? lag.maxSeqs / ratePerMs : 0;
  const sentFraction = scheduled > 0 ? sent / scheduled : 0;
  const whys: string[] = [];
  if (kind === "open") {
    if (sentFraction < criteria.sentFractionMin) whys.push(`sent ${pct(sentFraction)} of the schedule (window full: acks too slow)`);
    else if (cmdsPerS < criteria.reportedFractionMin * rate!) whys.push(`reported ${pct(cmdsPerS / rate!)} of the rate within the step (publishers fell behind: window full)`);
    if (drainMs > criteria.lagMsMax) whys.push(`reports trailed by ${Math.round(drainMs)} ms when publishing stopped`);
    if (lagMs > criteria.lagMsMax) whys.push(`output lag ${Math.round(lagMs)} ms (${lag.maxSeqs} log positions, partition ${lag.partition})`);
  }
  return {
    kind,
    targetPerS: rate,
    durationS,
    scheduled,
    sent,
    late: sum(loops.map((l) => l.late)),
    skipped: sum(loops.map((l) => l.skipped)),
    reported,
    cmdsPerS,
    sentFraction,
    drainMs,
    lagSeqs: lag.maxSeqs,
    lagMs,
    benchLoopDelayMsP99: loopDelay.percentile(99) / 1e6,
    benchLoopDelayMsMax: loopDelay.max / 1e6,
    ackMsP50: ledger.ackLatency.getValueAtPercentile(50) / 1000,
    ackMsP99: ledger.ackLatency.getValueAtPercentile(99) / 1000,
    outBatchesPerS: outs / durationS,
    cmdsPerBatch: outs > 0 ? reported / outs : 0,
    reportMsgsPerS: reportMsgs / durationS,
    keptUp: whys.length === 0,
    why: whys.join("; "),
    cpu,
  };
}

/**
 * Waits until every command sent is reported (or its publish failed); returns how
 * long it took from `since`. When reports stop coming while commands are still
 * out, the commands are looked up in BOURSE_OUT (from `stepStartEpochMs` on).
 */
async function drain(ctx: E2eContext, since: number, stepStartEpochMs: number): Promise<number> {
  const deadline = since + ctx.drainMsTimeout;
  let last = ctx.ledger.outstanding;
  let lastProgressAt = performance.now();
  while (ctx.ledger.outstanding > 0) {
    const now = performance.now();
    if (ctx.ledger.outstanding !== last) {
      last = ctx.ledger.outstanding;
      lastProgressAt = now;
    } else if (now - lastProgressAt > DRAIN_STALL_MS) {
      const partitions = ctx.ledger.outstandingByPartition().map(([p]) => p);
      await recoverFromOutput(ctx.js, ctx.ledger, ctx.tag, partitions, stepStartEpochMs - 1_000);
      lastProgressAt = performance.now();
    }
    if (now > deadline) {
      const where = ctx.ledger
        .outstandingByPartition()
        .slice(0, 8)
        .map(([p, n]) => `partition ${p}: ${n}`)
        .join(", ");
      throw new ReportsMissingError(
        `${ctx.ledger.outstanding} commands sent were not reported within ${ctx.drainMsTimeout} ms after publishing stopped ` +
          `(acknowledged: ${ctx.ledger.acked} of ${ctx.ledger.sent}; ${where}); ${ctx.describeCluster()}`,
      );
    }
    await sleep(DRAIN_POLL_MS);
  }
  const ms = performance.now() - since;
  await Promise.all(ctx.publishers.map((p) => p.settled()));
  return ms;
}

/** Messages in BOURSE_OUT so far. */
async function outMessages(ctx: E2eContext): Promise<number> {
  return (await ctx.jsm.streams.info(STREAM_OUT)).state.messages;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
