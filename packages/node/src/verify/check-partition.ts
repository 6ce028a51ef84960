import { decodeEvents, type EngineEvent } from "@bourse/engine";
import { ReferenceModel } from "@bourse/engine/model";
import { intake } from "../partition/command-intake.js";
import type { LogEntry } from "./durable-log.js";

export interface Violation {
  check: string;
  partition: number;
  detail: string;
  seq?: number;
  inSeq?: number;
  cmdId?: string;
}

export interface PartitionReport {
  partition: number;
  commands: number;
  events: number;
  trades: number;
  violations: Violation[];
  /** cmdIds found in the command log. */
  cmdIds: Set<string>;
}

const DETAIL_MAX = 300;

/**
 * Checks one partition's durable state: its output is gap-free and duplicate-free,
 * every trade id appears once, and it equals the reference model's replay of the
 * command log event for event (which also proves bought = sold and no overfill,
 * since the model cannot produce either).
 */
export function checkPartition(p: number, partitions: number, input: LogEntry[], output: LogEntry[]): PartitionReport {
  const violations: Violation[] = [];
  const events: EngineEvent[] = [];
  for (const m of output) events.push(...decodeEvents(m.data));
  events.forEach((e, i) => {
    if (e.seq !== i + 1) violations.push({ check: "output_sequence", partition: p, seq: e.seq, detail: `event #${i + 1} has seq ${e.seq} (gap or duplicate)` });
  });
  const tradeIds = new Set<number>();
  for (const e of events) {
    if (e.type !== "trade") continue;
    if (tradeIds.has(e.tradeId)) violations.push({ check: "duplicate_trade", partition: p, seq: e.seq, detail: `trade ${e.tradeId} reported twice` });
    tradeIds.add(e.tradeId);
  }
  // A command the engine dead-lettered (internal_error) is, to the model, rejected input:
  // the model cannot know which handler failed.
  const quarantined = new Map<number, Extract<EngineEvent, { type: "rejected" }>>();
  for (const e of events) if (e.type === "rejected" && e.code === "internal_error") quarantined.set(e.inSeq, e);
  const model = new ReferenceModel(p);
  const expected: EngineEvent[] = [];
  const cmdIds = new Set<string>();
  for (const m of input) {
    const r = intake(m.subject, m.data, p, partitions);
    if (r.ok) cmdIds.add(r.cmd.cmdId);
    const q = quarantined.get(m.seq);
    if (q) expected.push(...model.rejectInput(m.seq, m.ts, q));
    else expected.push(...(r.ok ? model.apply(r.cmd, m.seq, m.ts) : model.rejectInput(m.seq, m.ts, r.rejection)));
  }
  const n = Math.min(expected.length, events.length);
  for (let i = 0; i < n; i++) {
    const a = canonical(events[i]);
    const b = canonical(expected[i]);
    if (a !== b) {
      violations.push({ check: "model_mismatch", partition: p, seq: i + 1, inSeq: expected[i]!.inSeq, detail: `output ${a.slice(0, DETAIL_MAX)} != model ${b.slice(0, DETAIL_MAX)}` });
      break;
    }
  }
  if (events.length !== expected.length)
    violations.push({ check: "output_length", partition: p, detail: `${events.length} events durable, the model expects ${expected.length} from ${input.length} commands` });
  return { partition: p, commands: input.length, events: events.length, trades: tradeIds.size, violations, cmdIds };
}

/** JSON with keys sorted at every level, so that field order never matters. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}
