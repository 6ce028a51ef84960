export type SimErrorCode = "node_start_failed" | "not_serving" | "nats_failed" | "setup_failed";

/** The simulation could not run (as opposed to: it ran and found violations). */
export class SimError extends Error {
  override readonly name = "SimError";
  constructor(
    readonly code: SimErrorCode,
    message: string,
  ) {
    super(message);
  }
}
