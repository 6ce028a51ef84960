/** The publisher client: its public API, re-exported by name. */
export { BourseClient, type BourseClientOptions, type CommandOptions, type ReportListener, type ErrorListener, type TlsConfig } from "./bourse-client.js";
export type { PlaceInput, AmendInput, CancelInput, CancelAllInput, QueryInput } from "./commands.js";
export type { CommandReport, SettlingEvent } from "./outcomes.js";
export type { CancelAllResult } from "./cancel-all.js";
export { ALL_MARKETS_TOKEN } from "./cancel-all.js";
export type { DepthInput } from "./queries.js";
export type { Depth } from "./wire.js";
export type { ReportMeta } from "./report-stream.js";
export { clientLimits } from "./limits.js";
export {
  BourseClientError,
  BourseValidationError,
  BoursePublishError,
  BourseReportTimeoutError,
  BourseQueryError,
  BourseReportGapError,
  isBourseClientError,
  type BourseClientErrorCode,
  type QueryFailure,
} from "./errors.js";
export { publishCommand, type PublishPolicy, type Published, type JsPublisher } from "./publish.js";
export { ReportTap } from "./report-tap.js";
