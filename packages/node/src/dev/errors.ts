/**
 * Why `bourse dev` could not bring the cluster up. Each message is meant for
 * the terminal as is: it says what was found and what to do about it.
 */
export type DevErrorCode =
  | "nats_missing"
  | "port_in_use"
  | "nats_failed"
  | "node_failed"
  | "busy"
  | "leftovers"
  | "partitions_mismatch"
  | "markets_failed"
  /** A stop was asked for (Ctrl-C, SIGTERM) while starting. */
  | "interrupted";

export class DevError extends Error {
  override readonly name = "DevError";
  constructor(
    readonly code: DevErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isDevError(e: unknown): e is DevError {
  return e instanceof DevError;
}

/** Throws an "interrupted" DevError once `signal` is aborted: every wait of the start-up checks it. */
export function throwIfStopped(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new DevError("interrupted", `stopped while ${what}`);
}
