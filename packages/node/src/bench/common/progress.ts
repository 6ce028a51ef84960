/** Progress lines for the benches: always on stderr, so stdout holds only the report. */
export function progress(bench: string, message: string): void {
  process.stderr.write(`bench ${bench}: ${message}\n`);
}

/** Reports every `step` fraction of `total` (10% by default). */
export class ProgressTicker {
  private next: number;
  private readonly every: number;
  private readonly started = performance.now();

  constructor(
    private readonly bench: string,
    private readonly what: string,
    private readonly total: number,
    step = 0.1,
  ) {
    this.every = Math.max(1, Math.ceil(total * step));
    this.next = this.every;
  }

  tick(done: number): void {
    if (done < this.next) return;
    while (this.next <= done) this.next += this.every;
    const s = (performance.now() - this.started) / 1000;
    progress(this.bench, `${this.what}: ${fmtInt(done)} / ${fmtInt(this.total)} (${Math.round((100 * done) / this.total)}%, ${s.toFixed(1)} s)`);
  }
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function mb(bytes: number): number {
  return round(bytes / 1048576, 1);
}
