/** Percentiles of small samples (hundreds of values): nearest rank over the sorted values. */

export interface Summary {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** The nearest-rank percentile q (0..100) of `values`; null for none. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** p50, p99 and max, rounded to whole milliseconds. */
export function summarize(values: readonly number[]): Summary {
  const r = (v: number | null): number | null => (v === null ? null : Math.round(v));
  return { n: values.length, p50: r(percentile(values, 50)), p99: r(percentile(values, 99)), max: r(percentile(values, 100)) };
}

/** The values that are numbers. */
export function known(values: readonly (number | null | undefined)[]): number[] {
  return values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
}
