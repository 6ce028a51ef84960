/**
 * CPU time of the benchmark's processes over a phase, in cores (1.0 = one core
 * busy the whole phase): the nats-server, each node, and this process (bench e2e:
 * the publishers and the report listener; bench replay: the consumer and the
 * recovering partition loop). Read from /proc/<pid>/stat on Linux;
 * elsewhere only this process is measured.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export type CpuShares = Record<string, number>;

/** "nats-server 0.37, bench 1.05, total 1.42": each process's cores, as the benches print them. */
export function cpuText(c: CpuShares): string {
  return Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(", ");
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of `pid` in seconds, or undefined when unreadable. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

export class CpuSampler {
  private readonly pids = new Map<string, () => number>();
  private startedAt = 0;
  private startSeconds = new Map<string, number | undefined>();
  private selfStart = process.cpuUsage();

  /** Measures the process `pid()` under `name` (the pid may change between phases). */
  watch(name: string, pid: () => number): void {
    this.pids.set(name, pid);
  }

  unwatch(name: string): void {
    this.pids.delete(name);
  }

  start(): void {
    this.startedAt = performance.now();
    this.selfStart = process.cpuUsage();
    this.startSeconds = new Map([...this.pids].map(([name, pid]) => [name, cpuSeconds(pid())]));
  }

  /** Cores used by each process since start(), and `total`. */
  stop(): CpuShares {
    const wall = (performance.now() - this.startedAt) / 1000;
    const out: CpuShares = {};
    for (const [name, pid] of this.pids) {
      const a = this.startSeconds.get(name);
      const b = cpuSeconds(pid());
      if (a !== undefined && b !== undefined) out[name] = round2((b - a) / wall);
    }
    const self = process.cpuUsage(this.selfStart);
    out["bench"] = round2((self.user + self.system) / 1e6 / wall);
    out["total"] = round2(Object.values(out).reduce((x, y) => x + y, 0));
    return out;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
