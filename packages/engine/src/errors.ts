/** A broken invariant: a bug. Crashes the actor (and, if it recurs, the command is dead-lettered). */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
  readonly code = "assertion_failed";
}

/** State that cannot be restored: the partition must be rebuilt by its supervisor. */
export class PartitionCorruptedError extends Error {
  override readonly name = "PartitionCorruptedError";
  readonly code = "partition_corrupted";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A snapshot that cannot be decoded or fails its checks. */
export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
  readonly code = "snapshot_invalid";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isPartitionCorrupted(e: unknown): e is PartitionCorruptedError {
  return e instanceof PartitionCorruptedError;
}

/** A command offered out of log order: the caller's replay logic is wrong. */
export class SequenceError extends Error {
  override readonly name = "SequenceError";
  readonly code = "out_of_sequence";
}

/** A command reached an engine while its state was being encoded in slices (a caller's bug). */
export class SnapshotInProgressError extends Error {
  override readonly name = "SnapshotInProgressError";
  readonly code = "snapshot_in_progress";
}
