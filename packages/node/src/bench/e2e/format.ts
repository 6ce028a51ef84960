/** Number formatting shared by the progress lines and the report (CPU shares: common/cpu.ts `cpuText`). */

export function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
