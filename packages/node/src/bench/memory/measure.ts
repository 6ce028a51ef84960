/**
 * Memory of this process after a forced collection (the process runs with
 * --expose-gc), and the sizes of the engine structures that memory depends on.
 */
import type { PartitionEngine } from "@bourse/engine";

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** Lets the event loop turn (a collection in the same job can miss garbage a handle scope still holds), then collects twice. */
export async function sampleAfterGc(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc: memory is sampled after a forced collection");
  await new Promise((r) => setImmediate(r));
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

export interface EngineSizes {
  resting: number;
  /** Terminal orders resident (bounded by terminalOrdersMax). */
  terminal: number;
  /** Idempotency entries: open ones (resting orders) and finished ones (bounded by idempotencyMax). */
  idempotency: number;
  idempotencyFinished: number;
}

/** Read-only view of PartitionEngine's private state, for reporting only. */
interface EngineInternals {
  state: { orders: { size: number }; terminal: { size: number }; byCmd: { size: number; finished: number } };
}

export function engineSizes(engine: PartitionEngine): EngineSizes {
  const s = (engine as unknown as EngineInternals).state;
  return { resting: s.orders.size, terminal: s.terminal.size, idempotency: s.byCmd.size, idempotencyFinished: s.byCmd.finished };
}
