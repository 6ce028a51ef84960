/**
 * A preload for the real `bourse node` process the memory bench measures,
 * given through NODE_OPTIONS (`--expose-gc --require <file>`), so the node's
 * code is the shipped one: on SIGUSR2 it collects garbage twice and prints
 * process.memoryUsage() as one JSON log line, which NodeProcess parses, with the
 * longest the node's event loop was blocked since the previous sample (perf_hooks
 * monitorEventLoopDelay; the sample's own collections are not counted).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LogLine } from "../../local/node-process.js";
import type { MemorySample } from "./measure.js";

/** The `msg` of the hook's line. */
export const MEMORY_LINE_MSG = "bench memory sample";

const SOURCE = `"use strict";
const delay = require("node:perf_hooks").monitorEventLoopDelay({ resolution: 5 });
delay.enable();
process.on("SIGUSR2", () => {
  setImmediate(() => {
    const loopDelayMaxMs = delay.max / 1e6;
    const loopDelayP99Ms = delay.percentile(99) / 1e6;
    delay.disable();
    globalThis.gc();
    globalThis.gc();
    const m = process.memoryUsage();
    process.stdout.write(JSON.stringify({ msg: ${JSON.stringify(MEMORY_LINE_MSG)}, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, loopDelayMaxMs, loopDelayP99Ms }) + "\\n");
    delay.reset();
    delay.enable();
  });
});
`;

/** Writes the hook into `dir`; returns the NODE_OPTIONS words that load it. */
export async function writeGcHook(dir: string): Promise<string[]> {
  const file = join(dir, "bench-memory-gc-hook.cjs");
  await writeFile(file, SOURCE);
  return ["--expose-gc", `--require=${file}`];
}

/** The event-loop delay figures of a hook line: the longest block, and the 99th percentile, in ms. */
export function loopDelayOfLine(l: LogLine): { maxMs: number; p99Ms: number } {
  return { maxMs: Number(l["loopDelayMaxMs"]), p99Ms: Number(l["loopDelayP99Ms"]) };
}

export function memoryOfLine(l: LogLine): MemorySample | undefined {
  if (l.msg !== MEMORY_LINE_MSG) return undefined;
  const n = (k: string): number => Number(l[k]);
  return { rss: n("rss"), heapUsed: n("heapUsed"), heapTotal: n("heapTotal"), external: n("external"), arrayBuffers: n("arrayBuffers") };
}
