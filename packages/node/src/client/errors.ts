/**
 * Every failure the client reports is a BourseClientError with a machine-readable
 * `code`; subclasses carry what the caller needs to act (the field to fix, the
 * cmdId to retry with, whether the command may be in the log).
 *
 * A business rejection (bad tick, unknown order) is not an error: it is the
 * `rejected` report a command resolves with.
 */
import type { RejectCode } from "@bourse/engine";

export type BourseClientErrorCode =
  /** Bad input, caught before anything was sent. */
  | "invalid_input"
  /** The first connection to NATS failed. */
  | "connect_failed"
  /** The partition count could not be read from the cluster config. */
  | "config_unavailable"
  /** The command log did not acknowledge the publish after every attempt. */
  | "publish_failed"
  /** The command is logged, but its report did not arrive in time. */
  | "report_timeout"
  /** A query got no answer, or an error answer. */
  | "query_failed"
  /** Execution reports were missed and could not be recovered from BOURSE_OUT. */
  | "report_gap"
  /** A report message that does not decode as a ReportMessage. */
  | "malformed_report"
  /** A report listener threw; delivery to other listeners continued. */
  | "listener_failed"
  /** Too many commands are waiting for their reports. */
  | "too_many_pending"
  /** The client was closed while the operation was in flight. */
  | "closed";

export class BourseClientError extends Error {
  override readonly name: string = "BourseClientError";
  constructor(
    readonly code: BourseClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Input that would be rejected by the codec or cannot travel as a subject token. */
export class BourseValidationError extends BourseClientError {
  override readonly name = "BourseValidationError";
  constructor(
    /** The offending input field (`qty`, `market`, `account`), as the caller spells it. */
    readonly field: string,
    /** The codec's rejection code for it (`missing_field`, `invalid_value`, …). */
    readonly rejectCode: RejectCode,
    message: string,
  ) {
    super("invalid_input", message);
  }
}

/** No acknowledgement from BOURSE_IN: the caller may retry with the same cmdId, which cannot apply it twice. */
export class BoursePublishError extends BourseClientError {
  override readonly name = "BoursePublishError";
  constructor(
    readonly cmdId: string,
    readonly attempts: number,
    /** False only when every attempt was refused outright (nothing can have been stored). */
    readonly mayBeLogged: boolean,
    options?: { cause?: unknown },
  ) {
    const state = mayBeLogged ? "may or may not have been logged" : "was not logged";
    super(
      "publish_failed",
      `command ${cmdId} not acknowledged after ${attempts} attempt(s); it ${state}: retry with the same cmdId (${cmdId}), which is never applied twice`,
      options,
    );
  }
}

/** The publish was acknowledged (the command is in the log and will be applied) but no report arrived in time. */
export class BourseReportTimeoutError extends BourseClientError {
  override readonly name = "BourseReportTimeoutError";
  constructor(
    readonly cmdId: string,
    readonly partition: number,
    readonly timeoutMs: number,
    /** BOURSE_IN sequence of the command (for a place, also its order id once accepted). */
    readonly inputSeq: number,
  ) {
    super(
      "report_timeout",
      `no execution report for command ${cmdId} within ${timeoutMs} ms; the command IS logged (BOURSE_IN sequence ${inputSeq}, partition ${partition}) and will be applied: ` +
        `do not send it again with a new cmdId; its outcome will arrive through onReport, or query the order`,
    );
  }
}

export type QueryFailure = "timeout" | "no_responders" | "rejected" | "malformed_reply" | "request_failed";

export class BourseQueryError extends BourseClientError {
  override readonly name = "BourseQueryError";
  constructor(
    readonly failure: QueryFailure,
    readonly partition: number,
    message: string,
    /** The node's reason when failure is "rejected" (`unknown_order`, `unknown_market`, …). */
    readonly rejectCode?: string,
    options?: { cause?: unknown },
  ) {
    super("query_failed", message, options);
  }
}

/** Reports of one partition were missed and only partly (or not) recovered. */
export class BourseReportGapError extends BourseClientError {
  override readonly name = "BourseReportGapError";
  constructor(
    readonly partition: number,
    /** Last event sequence delivered before the gap. */
    readonly afterSeq: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("report_gap", message, options);
  }
}

export function isBourseClientError(e: unknown, code?: BourseClientErrorCode): e is BourseClientError {
  return e instanceof BourseClientError && (code === undefined || e.code === code);
}
