import { AssertionError } from "./errors.js";

/** Cheap invariant check for hot code; one condition per call. */
export function assert(cond: boolean, what: string): asserts cond {
  if (!cond) throw new AssertionError(what);
}
