/**
 * Every bound the engine enforces, in one place. Units come last in each name.
 */
export const limits = {
  /** Longest cmdId, account or market symbol, in UTF-16 code units. */
  idLengthMax: 128,
  symbolLengthMax: 64,
  /** Largest price or quantity accepted; keeps level totals within safe integers. */
  priceMax: 2 ** 40,
  qtyMax: 2 ** 36,
  /** Largest encoded command accepted by the decoder. */
  commandBytesMax: 4096,
  /** Largest band half-width: 100%. */
  bandBpsMax: 10_000,
} as const;

/** Tunables of a partition engine, with their defaults. */
export interface EngineOptions {
  partition: number;
  /** Terminal orders kept resident for queries before passivation. */
  terminalOrdersMax: number;
  /** Command outcomes remembered for idempotency (beyond live orders). */
  idempotencyMax: number;
  /** Attempts at a command whose handler throws before it is rejected as internal_error. */
  commandAttemptsMax: number;
  /** Commands journaled since the last checkpoint before a new one is taken. */
  checkpointCommandsMax: number;
  /** Emit L2 market-data events. */
  marketData: boolean;
  /** Test-only fault hook, called around each handler; throwing simulates a bug. */
  faultHook?: FaultHook;
  /**
   * Test-only: skip the idempotency check, so a repeated cmdId is applied again.
   * Breaks a guarantee on purpose, to prove the simulation's checker catches it.
   */
  testNoIdempotency?: boolean;
}

export type FaultHook = (phase: "before" | "after", cmdId: string, attempt: number) => void;

export const defaultEngineOptions: Omit<EngineOptions, "partition"> = {
  terminalOrdersMax: 10_000,
  idempotencyMax: 100_000,
  commandAttemptsMax: 3,
  checkpointCommandsMax: 100_000,
  marketData: true,
};
