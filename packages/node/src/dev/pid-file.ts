/**
 * `<data>/pids.json`: which processes the running `bourse dev` started, so the
 * next run can tell a crashed run's leftovers (stop them) from a live run
 * (refuse) and from a pid the OS has since reused (ignore). A pid counts as
 * ours only while it is alive and its command line still contains what we
 * started it with.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { devLimits } from "./limits.js";
import { commandLine, isAlive, stopPid } from "./processes.js";

export const PID_FILE = "pids.json";

export type PidRole = "supervisor" | "nats" | "node";

export interface PidRecord {
  role: PidRole;
  name: string;
  pid: number;
  /** Phrases the process's command line contains as whole space-separated words ("--id node-1"). */
  match: string[];
  /** Strings it contains anywhere ("bourse", of a script path). */
  contains?: string[];
}

interface PidFileBody {
  version: 1;
  data: string;
  records: PidRecord[];
}

/** The pid file of one data dir; written whole (tmp + rename) on every change. */
export class PidFile {
  private readonly records: PidRecord[] = [];

  constructor(readonly dataDir: string) {}

  get path(): string {
    return join(this.dataDir, PID_FILE);
  }

  add(r: PidRecord): void {
    this.records.push(r);
    this.write();
  }

  /** Removes the file if this run wrote it (a run refused as busy must not delete the live run's file). */
  remove(): void {
    if (this.records.length > 0) rmSync(this.path, { force: true });
  }

  private write(): void {
    const body: PidFileBody = { version: 1, data: this.dataDir, records: this.records };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(body, null, 2) + "\n");
    renameSync(tmp, this.path);
  }
}

/** What a previous run left in the data dir. */
export interface Leftovers {
  /** A `bourse dev` still running with this data dir. */
  supervisor: PidRecord | undefined;
  /** Its nodes and nats-server, alive and still ours. */
  processes: PidRecord[];
  /** Recorded pids now alive as someone else's process (reused). */
  reused: PidRecord[];
}

export function readLeftovers(dataDir: string): Leftovers {
  const none: Leftovers = { supervisor: undefined, processes: [], reused: [] };
  const path = join(dataDir, PID_FILE);
  if (!existsSync(path)) return none;
  let body: Partial<PidFileBody>;
  try {
    body = JSON.parse(readFileSync(path, "utf8")) as Partial<PidFileBody>;
  } catch {
    // Torn or edited by hand: there is nothing we could safely signal.
    return none;
  }
  const records = Array.isArray(body.records) ? body.records.filter(isRecord) : [];
  const out: Leftovers = { supervisor: undefined, processes: [], reused: [] };
  for (const r of records) {
    if (r.pid === process.pid || !isAlive(r.pid)) continue;
    if (!isOurs(r)) out.reused.push(r);
    else if (r.role === "supervisor") out.supervisor = r;
    else out.processes.push(r);
  }
  return out;
}

/** The process `r` names is alive and its command line holds every word of `r.match`. */
export function isOurs(r: PidRecord): boolean {
  const line = commandLine(r.pid);
  if (line === undefined) return false;
  const padded = ` ${line} `;
  return r.match.every((m) => padded.includes(` ${m} `)) && (r.contains ?? []).every((c) => line.includes(c));
}

/** Stops a crashed run's leftovers: nodes first (they flush to the server), then the server. */
export async function stopLeftovers(records: readonly PidRecord[], say: (line: string) => void): Promise<boolean> {
  const stop = async (r: PidRecord): Promise<boolean> => {
    const gone = await stopPid(r.pid, devLimits.staleStopMsTimeout);
    say(gone ? `  stopped ${r.name} (pid ${r.pid})` : `  ${r.name} (pid ${r.pid}) did not exit, even after SIGKILL`);
    return gone;
  };
  const nodes = await Promise.all(records.filter((r) => r.role === "node").map(stop));
  const servers = await Promise.all(records.filter((r) => r.role === "nats").map(stop));
  return [...nodes, ...servers].every(Boolean);
}

function isRecord(r: unknown): r is PidRecord {
  const x = r as Partial<PidRecord> | null;
  return (
    typeof x === "object" && x !== null &&
    (x.role === "supervisor" || x.role === "nats" || x.role === "node") &&
    typeof x.name === "string" && typeof x.pid === "number" &&
    Array.isArray(x.match) && x.match.every((m) => typeof m === "string") &&
    (x.contains === undefined || (Array.isArray(x.contains) && x.contains.every((c) => typeof c === "string")))
  );
}
