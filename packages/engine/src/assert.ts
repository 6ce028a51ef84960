import { AssertionError } from "./errors.js";

/**
 * Cheap invariant check for hot code; one condition per call. The message must
 * be a constant: arguments are evaluated on every call, so a template literal
 * would build a string each time (that was a large share of the engine's
 * allocation). For a message with values, write `if (!cond) fail(`...`)`.
 */
export function assert(cond: boolean, what: string): asserts cond {
  if (!cond) throw new AssertionError(what);
}

/** A broken invariant, with a message built only when it is broken. */
export function fail(what: string): never {
  throw new AssertionError(what);
}
