/**
 * Runs a generator that yields between slices of work (PartitionEngine.snapshotInSlices,
 * restoreInSlices), one slice per turn of the event loop, so that timers, I/O and other
 * partitions run in between; `onSlice` is called at each turn. Returns what it returns.
 */
export async function runInSlices<T>(steps: Generator<void, T>, onSlice: () => void): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
    onSlice();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
