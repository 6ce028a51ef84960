/**
 * Every bound and interval of `bourse dev`, in one place; units come last in
 * each name. Defaults of flags live in the option table (cli/dev.ts).
 */
export const devLimits = {
  /** nats-server must accept JetStream requests within this long of its start. */
  natsStartMsTimeout: 15_000,
  /** A node must log "node started" within this long (the first start provisions streams). */
  nodeStartMsTimeout: 30_000,
  /** Every demo market must answer a depth query within this long of the nodes' start. */
  marketsMsTimeout: 30_000,
  /** SIGTERM, then SIGKILL after this long: nodes flush, snapshot and hand off in between. */
  nodeStopMsTimeout: 10_000,
  natsStopMsTimeout: 10_000,
  /** Leftovers of a crashed run get the same grace. */
  staleStopMsTimeout: 10_000,
  /** How often logs, pids and endpoints are polled while waiting. */
  pollMsInterval: 50,
  /** One /metrics or /readyz request. */
  httpMsTimeout: 800,
  /** The status is sampled this often; without a TTY it is printed every `statusMsPrint`. */
  statusMsInterval: 1_000,
  statusMsPrint: 5_000,
  /** The load sends in ticks of this length, rate/tick commands each. */
  loadMsTick: 100,
  /** Commands of the demo load waiting for their report at once; beyond it ticks are skipped, never queued. */
  loadInFlightMax: 256,
  /** Open orders the load remembers per account (to cancel some); the oldest are forgotten. */
  loadOpenOrdersMax: 200,
  /** Above this many open orders per account the load cancels more than it places. */
  loadOpenOrdersTarget: 30,
  /** Wait for one demo command's report. */
  loadReportMsTimeout: 10_000,
  /** Log lines kept when a process fails, to show why. */
  logTailLinesMax: 20,
  /** Bytes of a log file read at once while waiting for a line. */
  logReadBytesMax: 1 << 20,
  /** Flag bounds. */
  nodesMax: 16,
  marketsMax: 100,
  rateMax: 100_000,
  durationSecondsMax: 7 * 24 * 3600,
  /** Partitions in a dev cluster; the node accepts up to 4096. */
  partitionsMax: 4096,
} as const;
