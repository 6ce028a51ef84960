import { cpus, platform, arch, release, totalmem, loadavg } from "node:os";

export interface Machine {
  cpu: string;
  cores: number;
  memory_gb: number;
  node: string;
  v8: string;
  platform: string;
  arch: string;
  /** 1-minute load average when the bench started: other work on the machine skews the figures. */
  load_avg_1m: number;
}

export function describeMachine(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? "unknown",
    cores: c.length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    platform: `${platform()} ${release()}`,
    arch: arch(),
    load_avg_1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

export function formatMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB, ${m.platform} ${m.arch}, Node ${m.node} (V8 ${m.v8}), load ${m.load_avg_1m}`;
}
