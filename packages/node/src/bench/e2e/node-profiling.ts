/**
 * Profiling a `bourse node` under load without changing it: the node is started
 * with NODE_OPTIONS="--import <profiler-preload.js>" and BOURSE_PROFILE_DIR in
 * its environment, and SIGUSR2 starts and stops the profiler
 * (./profiler-preload.ts).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const PRELOAD = new URL("./profiler-preload.js", import.meta.url).href;
const WRITE_MS_TIMEOUT = 30_000;

/** The environment a node needs to be profiled into `dir` (created here). */
export function profilerEnv(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  return {
    NODE_OPTIONS: `${process.env["NODE_OPTIONS"] ?? ""} --import "${PRELOAD}"`.trim(),
    BOURSE_PROFILE_DIR: resolve(dir),
  };
}

/** The file a profiled node writes. */
export function profilePath(dir: string, nodeId: string): string {
  return join(resolve(dir), `${nodeId}.cpuprofile`);
}

/** Waits until every node's profile is written; returns the paths found. */
export async function waitForProfiles(dir: string, nodeIds: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + WRITE_MS_TIMEOUT;
  const paths = nodeIds.map((id) => profilePath(dir, id));
  while (!paths.every((p) => existsSync(p)) && Date.now() < deadline) await sleep(100);
  return paths.filter((p) => existsSync(p));
}
