/**
 * Reads V8 CPU profiles (.cpuprofile, as `node --cpu-prof` or the profiler
 * preload write them) and says where the time went, summed over the given
 * profiles, as shares of the busy (non-idle) time:
 *
 * - self time per function and per code module (a package of node_modules,
 *   @bourse/engine, @bourse/node, Node's internals, GC, native builtins);
 * - inclusive time of our own functions (@bourse/*): a sample counts once for
 *   every distinct function on its stack, so the pipeline stages (intake, engine,
 *   output publish, reports, snapshots) can be read off directly.
 *
 * Samples taken while the profiler itself was stopping (node:inspector, the
 * preload) are left out: they are the measurement, not the node.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  /** Function entries: file (package-relative) and line. */
  where?: string;
  module: string;
  ms: number;
  /** Share of the busy time, percent. */
  pct: number;
}

export interface ProfileSummary {
  profiles: number;
  /** Wall time covered, summed over the profiles. */
  wallMs: number;
  /** Time not idle, summed (on a machine short of CPU this includes time spent waiting for a core). */
  busyMs: number;
  /** Self time per function, largest first. */
  functions: ProfileEntry[];
  /** Self time per module, largest first. */
  modules: ProfileEntry[];
  /** Inclusive time of @bourse/* functions, largest first. */
  ours: ProfileEntry[];
}

const SPECIAL: Record<string, string> = {
  "(garbage collector)": "(gc)",
  "(program)": "(program: V8/native outside JS)",
  "(idle)": "(idle)",
  "(root)": "(root)",
};

/** Which module a frame's code belongs to. */
export function moduleOf(f: CallFrame): string {
  const special = SPECIAL[f.functionName];
  if (special !== undefined && f.url === "") return special;
  const url = f.url;
  if (url === "") return "(native builtins)";
  if (url.startsWith("node:")) return "node: internals";
  const pnpm = /\/node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pnpm !== null) return pnpm[1]!;
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm !== null) return nm[1]!;
  const ours = /\/packages\/([^/]+)\/dist\//.exec(url);
  if (ours !== null) return `@bourse/${ours[1]}`;
  return url.slice(url.lastIndexOf("/") + 1);
}

function whereOf(f: CallFrame): string | undefined {
  if (f.url === "") return undefined;
  const m = /\/node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(f.url) ?? /\/packages\/([^/]+\/dist\/.*)$/.exec(f.url);
  const file = m !== null ? m[1]! : f.url.replace(/^file:\/\//, "");
  return `${file}:${f.lineNumber + 1}`;
}

const isProfilerFrame = (f: CallFrame): boolean => f.url === "node:inspector" || f.url.endsWith("/profiler-preload.js");

interface Acc {
  name: string;
  where: string | undefined;
  module: string;
  us: number;
}

function bump(m: Map<string, Acc>, f: CallFrame, us: number): void {
  const where = whereOf(f);
  const module = moduleOf(f);
  const key = `${f.functionName}|${where ?? module}`;
  const e = m.get(key);
  if (e !== undefined) e.us += us;
  else m.set(key, { name: f.functionName || "(anonymous)", where, module, us });
}

export function summarizeProfiles(paths: readonly string[], top = 20): ProfileSummary {
  const self = new Map<string, Acc>();
  const inclusive = new Map<string, Acc>();
  const byModule = new Map<string, number>();
  let wallUs = 0;
  let idleUs = 0;
  for (const path of paths) {
    const p = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
    wallUs += p.endTime - p.startTime;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    /** Per node: its stack's frames (root first), and whether the profiler is on it. */
    const stacks = new Map<number, { frames: CallFrame[]; profiler: boolean }>();
    const stackOf = (id: number): { frames: CallFrame[]; profiler: boolean } => {
      const known = stacks.get(id);
      if (known !== undefined) return known;
      const n = byId.get(id)!;
      const up = parent.get(id);
      const base = up === undefined ? { frames: [], profiler: false } : stackOf(up);
      const s = { frames: [...base.frames, n.callFrame], profiler: base.profiler || isProfilerFrame(n.callFrame) };
      stacks.set(id, s);
      return s;
    };
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      const us = p.timeDeltas[i] ?? 0;
      const n = byId.get(id);
      if (n === undefined || us <= 0) continue;
      const f = n.callFrame;
      const module = moduleOf(f);
      const stack = stackOf(id);
      if (module === "(idle)" || stack.profiler) {
        idleUs += us;
        continue;
      }
      byModule.set(module, (byModule.get(module) ?? 0) + us);
      bump(self, f, us);
      const seen = new Set<string>();
      for (const sf of stack.frames) {
        if (!moduleOf(sf).startsWith("@bourse/")) continue;
        const key = `${sf.functionName}|${whereOf(sf)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        bump(inclusive, sf, us);
      }
    }
  }
  const busyUs = Math.max(1, wallUs - idleUs);
  const entry = (a: Acc): ProfileEntry => ({
    name: a.name,
    ...(a.where !== undefined ? { where: a.where } : {}),
    module: a.module,
    ms: Math.round(a.us / 1000),
    pct: Math.round((a.us / busyUs) * 1000) / 10,
  });
  const sorted = (m: Map<string, Acc>) => [...m.values()].sort((a, b) => b.us - a.us).slice(0, top).map(entry);
  return {
    profiles: paths.length,
    wallMs: Math.round(wallUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    functions: sorted(self),
    modules: [...byModule].sort((a, b) => b[1] - a[1]).map(([m, us]) => entry({ name: m, where: undefined, module: m, us })),
    ours: sorted(inclusive),
  };
}
