/**
 * Every bound the client enforces, in one place; units come last in each name.
 * Options of BourseClient.connect override the ones marked "default".
 */
export const clientLimits = {
  /** Default wait for a command's execution report once the publish is acknowledged. */
  reportMsTimeout: 10_000,
  /** Default wait for a query reply. */
  queryMsTimeout: 5_000,
  /** Wait for one publish acknowledgement before retrying with the same Nats-Msg-Id. */
  publishMsTimeout: 2_000,
  /** Publish attempts per command (the first included). */
  publishAttemptsMax: 5,
  /** Backoff before retry n is min(base * 2^(n-1), max), plus up to 20% jitter. */
  publishBackoffMsBase: 100,
  publishBackoffMsMax: 2_000,
  /** Wait for one BOURSE_OUT read while recovering a gap. */
  recoveryReadMsTimeout: 5_000,
  /** Attempts at recovering one gap before reporting it as a BourseReportGapError. */
  recoveryAttemptsMax: 3,
  recoveryBackoffMsBase: 200,
  /** Output messages read per gap at most; a longer gap is reported, not read to the end. */
  recoveryMessagesMax: 100_000,
  /** Outcomes of recent commands remembered, so a retry acknowledged as a duplicate can still resolve. */
  recentOutcomesMax: 10_000,
  /** Commands waiting for their report at once; more are refused rather than queued without bound. */
  pendingCommandsMax: 100_000,
  /** Partitions a cancelAll without market publishes to at once. */
  cancelAllInFlightMax: 64,
  /** Depth levels a depth query may ask for (the node caps it too). */
  depthLevelsMax: 100,
} as const;
