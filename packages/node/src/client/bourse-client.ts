/**
 * BourseClient: the publisher's side of the wire contract (protocol.ts,
 * docs/protocol.md), for one account.
 *
 *   1. connect: one NATS connection; the partition count from the cluster
 *      config unless given; subscribe to bourse.evt.<account> and flush, so
 *      no report of a later command can be missed.
 *   2. command: validate (engine codec + subject tokens), pick the partition,
 *      note where its output ends (for catch-up), start waiting for the cmdId,
 *      publish to bourse.in.<p>.<market>.<account> with Nats-Msg-Id = cmdId
 *      until acknowledged (publish.ts), then wait for the settling report.
 *   3. reports: every message on bourse.evt.<account> goes through the
 *      ReportStream, which recovers gaps from BOURSE_OUT, then to Outcomes
 *      (settles commands by cmdId) and to the onReport listeners.
 *   4. queries: request/reply on bourse.q.<p>.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { encodeCommand, type EngineEvent, type OrderView } from "@bourse/engine";
import type { AuthConfig, TlsConfig } from "../config.js";
import { connectNats } from "../connection.js";
import { assertPartitionCount, partitionOf } from "../partitioning.js";
import { readClusterConfig } from "../provision.js";
import { CLUSTER_CONFIG_KEY, KV_CLUSTER, subjects } from "../protocol.js";
import { publishCancelAll, type CancelAllResult } from "./cancel-all.js";
import { buildCommand, checkAccount, type AmendInput, type CancelAllInput, type CancelInput, type PlaceInput, type QueryInput } from "./commands.js";
import { BourseClientError, BourseReportTimeoutError, BourseValidationError } from "./errors.js";
import { clientLimits } from "./limits.js";
import { JetStreamOutReader } from "./out-reader.js";
import { Outcomes, toReport, type CommandReport, type Tracker } from "./outcomes.js";
import { publishCommand, type JsPublisher, type PublishPolicy } from "./publish.js";
import { requestDepth, requestOrder, type DepthInput } from "./queries.js";
import { ReportStream, type ReportMeta } from "./report-stream.js";
import { decodeReport, type Depth } from "./wire.js";

export interface BourseClientOptions extends AuthConfig {
  /** NATS server URL(s): "nats://host:4222" or a list. */
  servers: string | string[];
  /** The account every command is sent for; a subject token (TOKEN_RE). */
  account: string;
  /** Partition count; read from KV bucket bourse_cluster, key config, when absent. */
  partitions?: number;
  /** Wait for a command's report after its publish is acknowledged (default clientLimits.reportMsTimeout). */
  timeoutMs?: number;
  /** Wait for a query reply (default clientLimits.queryMsTimeout). */
  queryTimeoutMs?: number;
  /** Connection name shown by the server (default "bourse-client:<account>"). */
  name?: string;
}

export type { TlsConfig };
export type ReportListener = (event: EngineEvent, meta: ReportMeta) => void;
export type ErrorListener = (error: BourseClientError) => void;

export interface CommandOptions {
  /** Overrides the client's timeoutMs for this command. */
  timeoutMs?: number;
}

type Settled = NonNullable<Tracker["current"]>;

export class BourseClient {
  private readonly reportListeners = new Set<ReportListener>();
  private readonly errorListeners = new Set<ErrorListener>();
  private readonly outcomes = new Outcomes(clientLimits.recentOutcomesMax, clientLimits.pendingCommandsMax);
  /** Rejects each in-flight wait with "closed". */
  private readonly aborts = new Set<() => void>();
  private readonly reports: ReportStream;
  private readonly js: JsPublisher;
  private readonly policy: PublishPolicy = {
    attemptsMax: clientLimits.publishAttemptsMax,
    ackMsTimeout: clientLimits.publishMsTimeout,
    backoffMsBase: clientLimits.publishBackoffMsBase,
    backoffMsMax: clientLimits.publishBackoffMsMax,
  };
  private sub: Subscription | undefined;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    readonly account: string,
    readonly partitions: number,
    private readonly timeoutMs: number,
    private readonly queryTimeoutMs: number,
    private readonly ownsConnection: boolean,
    reader: JetStreamOutReader,
  ) {
    this.js = jetstream(nc, { timeout: clientLimits.publishMsTimeout });
    const recovery = { attemptsMax: clientLimits.recoveryAttemptsMax, backoffMsBase: clientLimits.recoveryBackoffMsBase, messagesMax: clientLimits.recoveryMessagesMax };
    this.reports = new ReportStream(account, reader, recovery, (e, meta) => this.dispatch(e, meta), (e) => this.emitError(e));
  }

  /** Connects to NATS and subscribes to the account's reports. */
  static async connect(opts: BourseClientOptions): Promise<BourseClient> {
    const account = checkAccount(opts?.account);
    checkOptions(opts);
    const servers = (typeof opts.servers === "string" ? opts.servers.split(",") : opts.servers).map((s) => s.trim()).filter((s) => s !== "");
    let nc: NatsConnection;
    try {
      nc = await connectNats({ servers, auth: authOf(opts) }, opts.name ?? `bourse-client:${account}`);
    } catch (e) {
      throw new BourseClientError("connect_failed", e instanceof Error ? e.message : String(e), { cause: e });
    }
    try {
      return await BourseClient.open(nc, { ...opts, account }, true);
    } catch (e) {
      await nc.close().catch(() => {});
      throw e;
    }
  }

  /** A client over a connection the caller owns (close() leaves it open). */
  static async fromConnection(nc: NatsConnection, opts: Omit<BourseClientOptions, "servers" | keyof AuthConfig>): Promise<BourseClient> {
    checkAccount(opts?.account);
    checkOptions(opts);
    return BourseClient.open(nc, opts, false);
  }

  private static async open(nc: NatsConnection, opts: Omit<BourseClientOptions, "servers">, owns: boolean): Promise<BourseClient> {
    const partitions = opts.partitions ?? (await readPartitions(nc));
    const jsm = await jetstreamManager(nc, { timeout: clientLimits.recoveryReadMsTimeout, checkAPI: false });
    const client = new BourseClient(
      nc,
      opts.account,
      partitions,
      opts.timeoutMs ?? clientLimits.reportMsTimeout,
      opts.queryTimeoutMs ?? clientLimits.queryMsTimeout,
      owns,
      new JetStreamOutReader(jsm),
    );
    await client.subscribe();
    return client;
  }

  /** The partition that owns `market`. */
  partitionOf(market: string): number {
    return partitionOf(market, this.partitions);
  }

  /** Places an order; resolves with its first report: accepted or rejected. */
  place(input: PlaceInput, opts?: CommandOptions): Promise<CommandReport> {
    return this.command("place", input, opts);
  }

  /** Amends an order's price and/or open quantity; resolves with amended or rejected. */
  amend(input: AmendInput, opts?: CommandOptions): Promise<CommandReport> {
    return this.command("amend", input, opts);
  }

  /** Cancels an order; resolves with cancelled or rejected. */
  cancel(input: CancelInput, opts?: CommandOptions): Promise<CommandReport> {
    return this.command("cancel", input, opts);
  }

  /**
   * Cancels the account's live orders in one market, or in every market (one
   * command per partition). Resolves once every publish is acknowledged; the
   * cancelled events arrive through onReport.
   */
  async cancelAll(input: CancelAllInput = {}): Promise<CancelAllResult> {
    this.assertOpen();
    return publishCancelAll(this.js, this.account, input, this.partitions, this.policy);
  }

  /** The order's current state, from the partition's owner (request/reply; not in the log). */
  async query(input: QueryInput, opts?: CommandOptions): Promise<OrderView> {
    this.assertOpen();
    const cmd = buildCommand("query", this.account, input);
    return requestOrder(this.nc, this.partitionOf(cmd.market), cmd, checkTimeout(opts?.timeoutMs) ?? this.queryTimeoutMs);
  }

  /** The best `levels` price levels of each side of a market's book. */
  async depth(input: DepthInput, opts?: CommandOptions): Promise<Depth> {
    this.assertOpen();
    return requestDepth(this.nc, this.partitions, input, checkTimeout(opts?.timeoutMs) ?? this.queryTimeoutMs);
  }

  /** Every event of this account, once each, in sequence order per partition. Returns an unsubscribe function. */
  onReport(listener: ReportListener): () => void {
    this.reportListeners.add(listener);
    return () => this.reportListeners.delete(listener);
  }

  /** Errors that belong to no call: unrecoverable report gaps, malformed reports, throwing listeners. */
  onError(listener: ErrorListener): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Resolves once every report received so far has been delivered (gap recoveries included). */
  idle(): Promise<void> {
    return this.reports.idle();
  }

  /** Stops reports, fails in-flight waits with "closed", and closes the connection if the client opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reports.close();
    this.sub?.unsubscribe();
    for (const abort of [...this.aborts]) abort();
    this.outcomes.clear();
    if (this.ownsConnection) await this.nc.close();
  }

  // ------------------------------------------------------------------ commands

  private async command(kind: "place" | "amend" | "cancel", input: unknown, opts: CommandOptions | undefined): Promise<CommandReport> {
    this.assertOpen();
    const cmd = buildCommand(kind, this.account, input);
    const timeoutMs = checkTimeout(opts?.timeoutMs) ?? this.timeoutMs;
    const p = this.partitionOf(cmd.market);
    await this.reports.markBaseline(p);
    const tracker = this.outcomes.track(cmd.cmdId);
    let inputSeq: number;
    try {
      inputSeq = (await publishCommand(this.js, subjects.in(p, cmd.market, this.account), encodeCommand(cmd), cmd.cmdId, this.policy)).ack.seq;
    } catch (e) {
      tracker.cancel();
      throw e;
    }
    return toReport(kind, await this.settle(tracker, cmd.cmdId, p, timeoutMs, inputSeq));
  }

  /** The command's settling event; at the deadline, first catches up on the partition's output, then times out. */
  private settle(tracker: Tracker, cmdId: string, p: number, timeoutMs: number, inputSeq: number): Promise<Settled> {
    return new Promise<Settled>((resolve, reject) => {
      let done = false;
      const finish = (f: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.aborts.delete(abort);
        tracker.cancel();
        f();
      };
      const abort = (): void => finish(() => reject(new BourseClientError("closed", `client closed while waiting for the report of ${cmdId} (the command is logged)`)));
      this.aborts.add(abort);
      const timer = setTimeout(() => {
        void this.reports.catchUp(p).then(() =>
          setImmediate(() => {
            const s = tracker.current;
            finish(() => (s !== undefined ? resolve(s) : reject(new BourseReportTimeoutError(cmdId, p, timeoutMs, inputSeq))));
          }),
        );
      }, timeoutMs);
      timer.unref();
      void tracker.settled.then((s) => finish(() => resolve(s)));
    });
  }

  // ------------------------------------------------------------------ reports

  private async subscribe(): Promise<void> {
    this.sub = this.nc.subscribe(subjects.evt(this.account), {
      callback: (err, msg) => this.receive(err, msg),
    });
    // The server has the subscription once the flush returns: reports of later commands cannot be missed.
    await this.nc.flush();
  }

  private receive(err: Error | null, msg: Msg): void {
    if (this.closed) return;
    if (err !== null) {
      this.emitError(new BourseClientError("malformed_report", `report subscription error: ${err.message}`, { cause: err }));
      return;
    }
    try {
      this.reports.push(decodeReport(msg.data));
    } catch (e) {
      this.emitError(e instanceof BourseClientError ? e : new BourseClientError("malformed_report", String(e), { cause: e }));
    }
  }

  private dispatch(e: EngineEvent, meta: ReportMeta): void {
    this.outcomes.observe(e, meta.partition);
    for (const l of this.reportListeners) {
      try {
        l(e, meta);
      } catch (cause) {
        this.emitError(new BourseClientError("listener_failed", `a report listener threw on event ${e.type} seq ${e.seq}`, { cause }));
      }
    }
  }

  private emitError(e: BourseClientError): void {
    if (this.errorListeners.size === 0) {
      process.emitWarning(e.message, { code: e.code, type: e.name });
      return;
    }
    for (const l of this.errorListeners) {
      try {
        l(e);
      } catch {
        // An error listener that throws has nowhere left to report to.
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new BourseClientError("closed", "client is closed");
  }
}

async function readPartitions(nc: NatsConnection): Promise<number> {
  try {
    return (await readClusterConfig(nc)).partitions;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new BourseClientError("config_unavailable", `cannot read the partition count from KV ${KV_CLUSTER}/${CLUSTER_CONFIG_KEY} (${why}); pass the partitions option`, { cause: e });
  }
}

function checkOptions(opts: Pick<BourseClientOptions, "partitions" | "timeoutMs" | "queryTimeoutMs">): void {
  if (opts.partitions !== undefined) {
    try {
      assertPartitionCount(opts.partitions);
    } catch (e) {
      throw new BourseValidationError("partitions", "invalid_value", (e as Error).message);
    }
  }
  checkTimeout(opts.timeoutMs, "timeoutMs");
  checkTimeout(opts.queryTimeoutMs, "queryTimeoutMs");
}

function checkTimeout(ms: number | undefined, field = "timeoutMs"): number | undefined {
  if (ms !== undefined && (!Number.isSafeInteger(ms) || ms < 1)) {
    throw new BourseValidationError(field, "invalid_value", `${field} must be a positive integer (milliseconds), got ${String(ms)}`);
  }
  return ms;
}

function authOf(o: AuthConfig): AuthConfig {
  const a: AuthConfig = {};
  if (o.user !== undefined) a.user = o.user;
  if (o.pass !== undefined) a.pass = o.pass;
  if (o.token !== undefined) a.token = o.token;
  if (o.credsFile !== undefined) a.credsFile = o.credsFile;
  if (o.tls !== undefined) a.tls = o.tls;
  return a;
}
