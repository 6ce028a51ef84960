/**
 * The processes `bourse dev` starts: each in its own session (detached), so a
 * Ctrl-C in the terminal reaches only `bourse dev`, which then stops them in
 * order (nodes before the server they flush to). Output goes straight to a log
 * file, so a node outlives a crashed `bourse dev` intact and the next run finds
 * it through the pid file. Everything is signalled by pid, never by name.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { devLimits } from "./limits.js";

/** Children still running; SIGTERMed if this process exits without stopping them. */
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

export interface SpawnSpec {
  /** Shown in messages: "nats-server", "node-2". */
  name: string;
  command: string;
  args: readonly string[];
  /** Appended to, never truncated: a resumed run keeps the previous run's lines. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  /** Resolves once the process has exited (or could not be started). */
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private spawnError: Error | undefined;

  private constructor(
    readonly spec: SpawnSpec,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      // `on`: a second "error" (a failed kill) must not go unhandled.
      child.on("error", (e) => {
        if (child.pid !== undefined) return;
        this.spawnError = e;
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
  }

  static start(spec: SpawnSpec): ManagedProcess {
    const fd = openSync(spec.logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(spec.command, [...spec.args], { detached: true, stdio: ["ignore", fd, fd], env: spec.env ?? process.env });
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(fd);
    }
    const p = new ManagedProcess(spec, child);
    if (child.pid !== undefined) {
      installExitHook();
      live.add(p);
    }
    return p;
  }

  /** -1 if the process could not be started. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.exit === undefined;
  }

  get exitInfo(): Exit | undefined {
    return this.exit;
  }

  get startError(): Error | undefined {
    return this.spawnError;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // Exited between the check and the kill.
    }
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves with how it exited. Idempotent. */
  async stop(graceMs: number): Promise<Exit & { killed: boolean }> {
    if (!this.running) return { ...(this.exit ?? { code: null, signal: null }), killed: false };
    this.signal("SIGCONT"); // a paused process must wake up to act on SIGTERM
    this.signal("SIGTERM");
    const ac = new AbortController();
    const timeout = sleep(graceMs, "timeout" as const, { signal: ac.signal }).catch(() => "cancelled" as const);
    const outcome = await Promise.race([this.exited.then(() => "exited" as const), timeout]);
    ac.abort();
    if (outcome === "exited") return { ...(await this.exited), killed: false };
    this.signal("SIGKILL");
    return { ...(await this.exited), killed: true };
  }
}

/** On an exit that skipped the orderly stop (a bug), at least ask every child to stop. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const p of live) p.signal("SIGTERM");
  });
}

// ---------------------------------------------------------------------------
// Processes this run did not start (leftovers of a crashed run)

/** True if `pid` names a running process (a zombie, waiting for a parent that never reaps it, counts as gone). */
export function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  return procState(pid) !== "Z";
}

/** The state letter from /proc/<pid>/stat (Linux only); undefined elsewhere. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) S ...": comm may hold spaces and parentheses, so read after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/** The command line of `pid` as one string, or undefined if it cannot be read (gone, or not ours to see). */
export function commandLine(pid: number): string | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((s) => s !== "").join(" ");
  } catch {
    // No /proc (macOS, BSD): ask ps.
  }
  try {
    const out = execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return out === "" ? undefined : out;
  } catch {
    return undefined;
  }
}

/** Stops a process this run did not start: SIGTERM, SIGKILL after `graceMs`; resolves true once it is gone. */
export async function stopPid(pid: number, graceMs: number): Promise<boolean> {
  if (!isAlive(pid)) return true;
  const send = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  };
  send("SIGCONT");
  send("SIGTERM");
  if (await waitGone(pid, graceMs)) return true;
  send("SIGKILL");
  return waitGone(pid, devLimits.pollMsInterval * 40);
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > end) return false;
    await sleep(devLimits.pollMsInterval);
  }
  return true;
}
