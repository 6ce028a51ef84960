import type { EngineEvent } from "@bourse/engine";
import type { Violation } from "./violation.js";

/** Commands that may legitimately produce no event (a tick, a cancelAll with nothing to cancel). */
const SILENT_KINDS = new Set(["tick", "cancelAll"]);

export interface LoggedCommand {
  inSeq: number;
  cmdId: string;
  kind: string;
}

/**
 * Invariant 1 on durable state: every logged command has an outcome (an event
 * at its inSeq), and a cmdId logged more than once takes effect once — every
 * later copy only restates the first outcome (a `duplicate` event).
 */
export function checkOutcomes(p: number, commands: readonly LoggedCommand[], events: readonly EngineEvent[]): Violation[] {
  const firstEvent = new Map<number, EngineEvent>();
  for (const e of events) if (!firstEvent.has(e.inSeq)) firstEvent.set(e.inSeq, e);
  const violations: Violation[] = [];
  const applied = new Map<string, number>();
  for (const c of commands) {
    const e = firstEvent.get(c.inSeq);
    if (e === undefined) {
      if (!SILENT_KINDS.has(c.kind)) violations.push({ check: "no_outcome", partition: p, inSeq: c.inSeq, cmdId: c.cmdId, detail: `${c.kind} command has no event in the output` });
      continue;
    }
    if (e.type === "duplicate") continue;
    const first = applied.get(c.cmdId);
    if (first === undefined) applied.set(c.cmdId, c.inSeq);
    else violations.push({ check: "applied_twice", partition: p, inSeq: c.inSeq, seq: e.seq, cmdId: c.cmdId, detail: `command took effect at inSeq ${first} and again at inSeq ${c.inSeq} (${e.type}) instead of being answered as a duplicate` });
  }
  return violations;
}
