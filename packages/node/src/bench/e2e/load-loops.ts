/**
 * The two ways the benchmark drives a publisher until a deadline:
 *
 * - closed loop: keep `window` commands outstanding, where "outstanding" is the
 *   caller's definition (unacknowledged for the raw phase, not yet reported end
 *   to end), publishing the next one as soon as one completes;
 * - open loop: publish on a fixed schedule at `rate`/s, whatever happens to the
 *   earlier ones, except that at most `window` publishes await their ack (the
 *   publisher's in-flight window). A slot that finds the window full waits and is
 *   published late; its latency still counts from the slot. A loop that falls
 *   more than a second behind skips the missed slots (counted).
 */
import { setTimeout as sleep } from "node:timers/promises";

const CATCH_UP_MS_MAX = 1_000;
const LATE_MS = 5;
/** Longest sleep of the open loop, so it notices the deadline. */
const SLEEP_MS_MAX = 20;

export interface ClosedLoopDriver {
  outstanding(): number;
  /** Publish one more. */
  send(): void;
  /** Resolves when something completes (an ack, a report). */
  next(): Promise<void>;
}

export async function closedLoop(d: ClosedLoopDriver, window: number, endAt: number): Promise<void> {
  while (performance.now() < endAt) {
    while (d.outstanding() < window) d.send();
    await Promise.race([d.next(), sleep(SLEEP_MS_MAX)]);
  }
}

export interface OpenLoopDriver {
  /** Publishes awaiting their acknowledgement. */
  inFlight(): number;
  /** Publish one, due at `due` (performance.now() ms). */
  send(due: number): void;
  /** Resolves at the next acknowledgement. */
  nextAck(): Promise<void>;
}

export interface OpenLoopResult {
  /** Slots in the schedule up to the deadline. */
  scheduled: number;
  sent: number;
  /** Slots published more than LATE_MS after they were due (timer granularity alone makes up to ~1 ms). */
  late: number;
  /** Slots skipped because the loop fell more than a second behind. */
  skipped: number;
}

export async function openLoop(d: OpenLoopDriver, rate: number, window: number, startAt: number, endAt: number): Promise<OpenLoopResult> {
  const interval = 1000 / rate;
  const r: OpenLoopResult = { scheduled: 0, sent: 0, late: 0, skipped: 0 };
  let due = startAt;
  for (;;) {
    const now = performance.now();
    if (due >= endAt) break;
    if (now - due > CATCH_UP_MS_MAX) {
      const missed = Math.min(Math.floor((now - due) / interval), Math.ceil((endAt - due) / interval));
      r.skipped += missed;
      r.scheduled += missed;
      due += missed * interval;
      continue;
    }
    if (now < due) {
      await sleep(Math.min(due - now, SLEEP_MS_MAX));
      continue;
    }
    if (d.inFlight() >= window) {
      await Promise.race([d.nextAck(), sleep(SLEEP_MS_MAX)]);
      continue;
    }
    if (now - due > LATE_MS) r.late++;
    d.send(due);
    r.sent++;
    r.scheduled++;
    due += interval;
  }
  return r;
}
