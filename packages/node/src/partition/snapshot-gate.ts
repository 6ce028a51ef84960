/**
 * Lets one partition of a node encode its snapshot at a time, the others waiting in
 * arrival order. A partition's commands wait while its snapshot is encoded, and the
 * node's event loop runs the encodings' slices ahead of its socket reads; without the
 * gate, partitions that fall due together (a burst ends and every partition takes its
 * quiet-time snapshot, then each takes the next one an interval later) encoded at the
 * same moment, and every command arriving then waited for all of them: with 21
 * partitions of ~2,500 finished orders each, stalls of ~200–300 ms every 5 s at 300
 * commands/s (docs/benchmarks.md, "bench e2e"). Through the gate a command waits at
 * most for its own partition's encoding, or for one slice of another's: the turn passes
 * on at the next turn of the event loop, never straight from one encoding to the next.
 *
 * A partition keeps applying commands while it waits; its snapshot captures the state
 * at the moment its turn comes.
 */
export class SnapshotGate {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  /** Partitions waiting for their turn (not counting the one encoding). */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `work` once no other work of this gate is running; the turn passes on when it settles, even by throwing. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await work();
    } finally {
      this.leave();
    }
  }

  private enter(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private leave(): void {
    const next = this.waiting.shift();
    // Not next() directly: the next work would start in this same macrotask, and a queue
    // of small encodings (one slice each) would again run back to back before any I/O.
    if (next !== undefined) setImmediate(next);
    else this.busy = false;
  }
}
