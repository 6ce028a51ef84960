/**
 * The one error the status readers throw: a read from NATS that failed or did not
 * answer in time. Its message is one line naming what was being read; anything
 * else escaping a reader is a bug.
 */
import { JetStreamApiError } from "@nats-io/jetstream";

export type StatusReadErrorCode = "read_failed" | "no_jetstream" | "timeout";

export class StatusReadError extends Error {
  override readonly name = "StatusReadError";
  constructor(
    readonly code: StatusReadErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStatusReadError(e: unknown): e is StatusReadError {
  return e instanceof StatusReadError;
}

/** Runs one NATS read; a failure becomes a StatusReadError saying what could not be read. */
export async function reading<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isStatusReadError(e)) throw e;
    throw new StatusReadError("read_failed", `cannot read ${what}: ${errorText(e)}`, { cause: e });
  }
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e).split("\n")[0]!;
  const code = e instanceof JetStreamApiError ? ` [${e.code}]` : "";
  return `${e.message.split("\n")[0]}${code}`;
}
