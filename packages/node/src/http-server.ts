/**
 * The node's HTTP endpoints, on node:http:
 *
 *   GET /metrics  Prometheus text.
 *   GET /healthz  200 while the process runs and its NATS connection is not closed
 *                 (reconnecting counts as alive: restarting the process would not
 *                 bring NATS back), else 503.
 *   GET /readyz   200 when provisioned, joined, connected, not shutting down, and
 *                 every owned partition is serving; else 503 with the reasons.
 *
 * Bodies of the health endpoints are JSON. Unknown paths are 404; other methods on
 * known paths are 405. The verdicts are pure functions of a HealthReport, which the
 * node assembles; `liveness` and `readiness` are exported for tests and the CLI.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ConnectionState } from "./connection.js";
import type { NodeMetrics } from "./metrics.js";

export const HTTP_LIMITS = {
  /** Readiness lists at most this many partition reasons, then a count of the rest. */
  reasonsMax: 32,
  /** Idle keep-alive sockets are closed after this long. */
  keepAliveMsTimeout: 5_000,
  requestMsTimeout: 10_000,
} as const;

export interface PartitionHealth {
  partition: number;
  serving: boolean;
  /** Why it is not serving: "recovering", "replaying", "backing off after failure 2/5"... */
  detail?: string;
}

export interface HealthReport {
  nats: ConnectionState;
  provisioned: boolean;
  joined: boolean;
  /** True once graceful shutdown began: the node takes no new work. */
  shuttingDown?: boolean;
  /** The partitions this node owns now. */
  partitions: readonly PartitionHealth[];
}

export interface Verdict {
  ok: boolean;
  reasons: string[];
}

export function liveness(h: HealthReport): Verdict {
  return h.nats === "closed" ? { ok: false, reasons: ["the NATS connection is closed"] } : { ok: true, reasons: [] };
}

export function readiness(h: HealthReport): Verdict {
  const reasons: string[] = [];
  if (h.nats !== "connected") reasons.push(`NATS is ${h.nats}`);
  if (!h.provisioned) reasons.push("streams and buckets are not provisioned");
  if (!h.joined) reasons.push("not a member of the cluster yet");
  if (h.shuttingDown) reasons.push("shutting down");
  const idle = h.partitions.filter((p) => !p.serving);
  for (const p of idle.slice(0, HTTP_LIMITS.reasonsMax)) reasons.push(`partition ${p.partition} is not serving: ${p.detail ?? "starting"}`);
  if (idle.length > HTTP_LIMITS.reasonsMax) reasons.push(`and ${idle.length - HTTP_LIMITS.reasonsMax} more partitions are not serving`);
  return { ok: reasons.length === 0, reasons };
}

export interface HttpServerOptions {
  /** 0 picks a free port (read it back from the handle). */
  port: number;
  /** Default: every interface. */
  host?: string;
  metrics: Pick<NodeMetrics, "text" | "contentType">;
  health: () => HealthReport;
}

export interface HttpServerHandle {
  readonly port: number;
  /** Stops listening and closes open connections. Idempotent. */
  close(): Promise<void>;
}

export class HttpServerError extends Error {
  override readonly name = "HttpServerError";
  readonly code = "listen_failed";
  constructor(
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(`cannot serve metrics and health on port ${port}: ${why}`, options);
  }
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const server = createServer((req, res) => {
    route(req, res, opts).catch((e: unknown) => send(res, 500, "text/plain; charset=utf-8", `internal error: ${String(e)}\n`));
  });
  server.keepAliveTimeout = HTTP_LIMITS.keepAliveMsTimeout;
  server.requestTimeout = HTTP_LIMITS.requestMsTimeout;
  await listen(server, opts.port, opts.host);
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () => (closed ??= shut(server)),
  };
}

const ROUTES = new Set(["/metrics", "/healthz", "/readyz"]);

async function route(req: IncomingMessage, res: ServerResponse, opts: HttpServerOptions): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (!ROUTES.has(path)) return send(res, 404, "text/plain; charset=utf-8", "not found\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
  }
  if (path === "/metrics") return send(res, 200, opts.metrics.contentType, await opts.metrics.text());
  let report: HealthReport;
  try {
    report = opts.health();
  } catch (e) {
    return sendJson(res, 503, { status: "fail", reasons: [`health report failed: ${e instanceof Error ? e.message : String(e)}`] });
  }
  const verdict = path === "/healthz" ? liveness(report) : readiness(report);
  const owned = report.partitions.length;
  const serving = report.partitions.filter((p) => p.serving).length;
  return sendJson(res, verdict.ok ? 200 : 503, {
    status: verdict.ok ? "ok" : "fail",
    reasons: verdict.reasons,
    nats: report.nats,
    provisioned: report.provisioned,
    joined: report.joined,
    partitions: { owned, serving },
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json", JSON.stringify(body) + "\n");
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(new HttpServerError(port, { cause: e }));
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

function shut(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
