/**
 * Everything the NATS fixture starts is registered here, so that a test that
 * fails, throws or forgets dispose() leaves no process or temp dir behind: on
 * process exit (and on SIGINT/SIGTERM) leftovers are SIGKILLed by pid and their
 * dirs removed. Only what was registered is touched.
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hookInstalled = false;

export function trackChild(child: ChildProcess): void {
  installExitHook();
  if (child.pid !== undefined) liveChildren.add(child);
}

/** Call on the child's exit: its pid may be reused by then, so it must never be signalled again. */
export function untrackChild(child: ChildProcess): void {
  liveChildren.delete(child);
}

export function isTracked(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && liveChildren.has(child);
}

export function trackDir(dir: string): void {
  installExitHook();
  tempDirs.add(dir);
}

export function untrackDir(dir: string): void {
  tempDirs.delete(dir);
}

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on("exit", reapSync);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    // Reap, then let the signal do what it would have done without us.
    process.once(sig, () => {
      reapSync();
      process.kill(process.pid, sig);
    });
  }
}

/** Synchronous: an "exit" listener cannot await. */
function reapSync(): void {
  for (const c of liveChildren) {
    try {
      process.kill(c.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}
