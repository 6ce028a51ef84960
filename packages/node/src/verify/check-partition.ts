import { decodeEvents, type EngineEvent } from "@bourse/engine";
import { ReferenceModel } from "@bourse/engine/model";
import { intake } from "../partition/command-intake.js";
import { checkFills } from "./check-fills.js";
import { checkOutcomes, type LoggedCommand } from "./check-outcomes.js";
import type { LogEntry } from "./durable-log.js";
import type { Violation } from "./violation.js";

export interface PartitionReport {
  partition: number;
  commands: number;
  events: number;
  trades: number;
  violations: Violation[];
  /** cmdIds found in the command log. */
  cmdIds: Set<string>;
  /** Every durable event, in order. */
  output: EngineEvent[];
  /** The reference model after replaying the command log: the state the partition must be in. */
  model: ReferenceModel;
}

const DETAIL_MAX = 300;

/**
 * Checks one partition's durable state: its output is gap-free and duplicate-free
 * (5), every trade id appears once (2), fills agree with quantities (3), every
 * logged command has one outcome (1), and the output equals the reference model's
 * replay of the command log event for event (4).
 */
export function checkPartition(p: number, partitions: number, input: LogEntry[], output: LogEntry[]): PartitionReport {
  const violations: Violation[] = [];
  const events: EngineEvent[] = [];
  for (const m of output) events.push(...decodeEvents(m.data));
  events.forEach((e, i) => {
    if (e.seq !== i + 1) violations.push({ check: "output_sequence", partition: p, seq: e.seq, inSeq: e.inSeq, detail: `event #${i + 1} has seq ${e.seq} (gap or duplicate)` });
  });
  const tradeIds = new Set<number>();
  for (const e of events) {
    if (e.type !== "trade") continue;
    if (tradeIds.has(e.tradeId)) violations.push({ check: "duplicate_trade", partition: p, seq: e.seq, inSeq: e.inSeq, detail: `trade ${e.tradeId} reported twice` });
    tradeIds.add(e.tradeId);
  }
  violations.push(...checkFills(p, events));
  // A command the engine dead-lettered (internal_error) is, to the model, rejected input:
  // the model cannot know which handler failed.
  const quarantined = new Map<number, Extract<EngineEvent, { type: "rejected" }>>();
  for (const e of events) if (e.type === "rejected" && e.code === "internal_error") quarantined.set(e.inSeq, e);
  const model = new ReferenceModel(p);
  const expected: EngineEvent[] = [];
  const cmdIds = new Set<string>();
  const logged: LoggedCommand[] = [];
  for (const m of input) {
    const r = intake(m.subject, m.data, p, partitions);
    if (r.ok) {
      cmdIds.add(r.cmd.cmdId);
      logged.push({ inSeq: m.seq, cmdId: r.cmd.cmdId, kind: r.cmd.kind });
    }
    const q = quarantined.get(m.seq);
    if (q) expected.push(...model.rejectInput(m.seq, m.ts, q));
    else expected.push(...(r.ok ? model.apply(r.cmd, m.seq, m.ts) : model.rejectInput(m.seq, m.ts, r.rejection)));
  }
  violations.push(...checkOutcomes(p, logged, events));
  const n = Math.min(expected.length, events.length);
  for (let i = 0; i < n; i++) {
    const a = canonical(events[i]);
    const b = canonical(expected[i]);
    if (a !== b) {
      const cmdId = (expected[i] as { cmdId?: string }).cmdId;
      violations.push({ check: "model_mismatch", partition: p, seq: i + 1, inSeq: expected[i]!.inSeq, ...(cmdId !== undefined ? { cmdId } : {}), detail: `output ${a.slice(0, DETAIL_MAX)} != model ${b.slice(0, DETAIL_MAX)}` });
      break;
    }
  }
  if (events.length !== expected.length)
    violations.push({ check: "output_length", partition: p, detail: `${events.length} events durable, the model expects ${expected.length} from ${input.length} commands` });
  return { partition: p, commands: input.length, events: events.length, trades: tradeIds.size, violations, cmdIds, output: events, model };
}

/** JSON with keys sorted at every level, so that field order never matters. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}
