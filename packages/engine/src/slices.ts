/** Runs a sliced computation (a generator that yields between slices of work) to its end, at once. */
export function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/** Work units left in the current slice: `spent(n)` is true when the slice is used up (and starts the next one). */
export class SliceBudget {
  private left: number;

  constructor(private readonly units: number) {
    this.left = units;
  }

  spent(n: number): boolean {
    this.left -= n;
    if (this.left > 0) return false;
    this.left = this.units;
    return true;
  }
}
