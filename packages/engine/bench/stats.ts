/**
 * Measurement helpers for `bench match`: latency histograms, medians, the
 * machine description, and number formatting for the tables.
 */
import { availableParallelism, cpus, totalmem, platform, arch, release } from "node:os";
import { build, type Histogram } from "hdr-histogram-js";

/** Latencies are recorded in nanoseconds; anything above 10 s is a broken run. */
export const latencyNsMax = 10_000_000_000;

export function newLatencyHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: latencyNsMax,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
}

export interface LatencySummary {
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  count: number;
}

export function summarizeLatency(h: Histogram): LatencySummary {
  const us = (ns: number): number => round(ns / 1_000, 3);
  return {
    p50_us: us(h.getValueAtPercentile(50)),
    p99_us: us(h.getValueAtPercentile(99)),
    p999_us: us(h.getValueAtPercentile(99.9)),
    max_us: us(h.maxValue),
    count: h.totalCount,
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  v8: string;
  platform: string;
  arch: string;
  memory_gb: number;
}

export function describeMachine(): Machine {
  const cpu = cpus()[0]?.model.trim() ?? "unknown";
  return {
    cpu,
    cores: availableParallelism(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${platform()} ${release()}`,
    arch: arch(),
    memory_gb: round(totalmem() / 2 ** 30, 1),
  };
}

export function formatMachine(m: Machine): string {
  return `machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB, ${m.platform} ${m.arch}, Node ${m.node} (V8 ${m.v8})`;
}

/** Megabytes (2^20 bytes) with one decimal. */
export function mb(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}

const intFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decFormat = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function fmtInt(x: number | null): string {
  return x === null || !Number.isFinite(x) ? "-" : intFormat.format(x);
}

export function fmtDec(x: number | null): string {
  return x === null || !Number.isFinite(x) ? "-" : decFormat.format(x);
}

/** Renders rows as aligned columns: the first column left-aligned, the rest right-aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "))
    .join("\n");
}
