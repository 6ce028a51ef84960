/** Number and CPU-share formatting shared by the progress lines and the report. */
import type { CpuShares } from "../common/cpu.js";

export function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function cpuText(c: CpuShares): string {
  return Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(", ");
}
