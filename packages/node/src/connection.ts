/**
 * The node's NATS connection: servers, one authentication method, TLS, and
 * reconnection forever. A node that loses NATS keeps trying; its partitions are
 * fenced by leases and expected sequences, not by the connection staying up.
 *
 * TLS: use host names in `servers`. For an IP URL (tls://10.0.0.5:4222) nats.js v3
 * passes Node no servername, and Node then verifies the server's certificate
 * against "localhost", not the IP.
 */
import { readFile } from "node:fs/promises";
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import type { AuthConfig, NodeConfig } from "./config.js";

export const CONNECTION_LIMITS = {
  /** Between attempts at the same server (nats.js adds jitter). */
  reconnectMsWait: 250,
  reconnectMsJitter: 100,
  reconnectMsJitterTls: 500,
  /** A first connection that takes longer fails. */
  connectMsTimeout: 5_000,
  pingMsInterval: 10_000,
  pingsOutstandingMax: 3,
} as const;

export type NatsConnectErrorCode = "auth_failed" | "tls_failed" | "unreachable" | "bad_credentials_file" | "connect_failed";

/** The first connection failed; the message names every server tried, the cause is nats.js's error. */
export class NatsConnectError extends Error {
  override readonly name = "NatsConnectError";
  constructor(
    readonly code: NatsConnectErrorCode,
    readonly servers: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot connect to NATS at ${servers.join(", ")}: ${message}`, options);
  }
}

export function isNatsConnectError(e: unknown): e is NatsConnectError {
  return e instanceof NatsConnectError;
}

/** Connects with the node's servers, auth and TLS; `name` shows in the server's connz. */
export async function connectNats(cfg: Pick<NodeConfig, "servers" | "auth">, name: string): Promise<NatsConnection> {
  const opts = await connectionOptions(cfg, name);
  try {
    return await connect(opts);
  } catch (e) {
    throw new NatsConnectError(classify(e), cfg.servers, describe(e), { cause: e });
  }
}

/** The nats.js options for `cfg`; reads the creds file. Exported for tests and the CLI's diagnostics. */
export async function connectionOptions(cfg: Pick<NodeConfig, "servers" | "auth">, name: string): Promise<NodeConnectionOptions> {
  const L = CONNECTION_LIMITS;
  return {
    servers: [...cfg.servers],
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: L.reconnectMsWait,
    reconnectJitter: L.reconnectMsJitter,
    reconnectJitterTLS: L.reconnectMsJitterTls,
    timeout: L.connectMsTimeout,
    pingInterval: L.pingMsInterval,
    maxPingOut: L.pingsOutstandingMax,
    // The first connection fails fast, so a misconfigured node exits with an error naming the servers;
    // only an established connection reconnects forever (its supervisor restarts a node that never connected).
    waitOnFirstConnect: false,
    // nats.js otherwise captures a stack for every request up front, in case it fails
    // (~8 % of a node's CPU in bench e2e's profile); errors still name what failed.
    noAsyncTraces: true,
    ...(await authOptions(cfg.auth, cfg.servers)),
  };
}

async function authOptions(auth: AuthConfig, servers: readonly string[]): Promise<Partial<NodeConnectionOptions>> {
  const opts: Partial<NodeConnectionOptions> = {};
  if (auth.user !== undefined) {
    opts.user = auth.user;
    opts.pass = auth.pass ?? "";
  }
  if (auth.token !== undefined) opts.token = auth.token;
  if (auth.credsFile !== undefined) {
    let creds: Uint8Array;
    try {
      creds = await readFile(auth.credsFile);
    } catch (e) {
      throw new NatsConnectError("bad_credentials_file", servers, `cannot read credentials file ${auth.credsFile}`, { cause: e });
    }
    opts.authenticator = credsAuthenticator(creds);
  }
  const tls = auth.tls;
  if (tls !== undefined) {
    opts.tls = {
      ...(tls.caFile !== undefined && { caFile: tls.caFile }),
      ...(tls.certFile !== undefined && { certFile: tls.certFile }),
      ...(tls.keyFile !== undefined && { keyFile: tls.keyFile }),
    };
  }
  return opts;
}

function classify(e: unknown): NatsConnectErrorCode {
  const name = e instanceof Error ? e.name : "";
  const text = chain(e).toLowerCase();
  if (name === "AuthorizationError" || text.includes("authorization violation") || text.includes("authentication")) return "auth_failed";
  if (text.includes("tls") || text.includes("certificate") || text.includes("ssl")) return "tls_failed";
  if (text.includes("econnrefused") || text.includes("timeout") || text.includes("enotfound") || text.includes("ehostunreach")) return "unreachable";
  return "connect_failed";
}

/** The error and its causes, joined: nats.js wraps socket errors in ConnectionError. */
function chain(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e, i = 0; c !== undefined && c !== null && i < 5; i++) {
    parts.push(c instanceof Error ? `${c.name}: ${c.message} ${(c as { code?: unknown }).code ?? ""}` : String(c));
    c = c instanceof Error ? c.cause : undefined;
  }
  return parts.join(" <- ");
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : "";
  return `${e.message}${cause}`;
}

export type ConnectionState = "connected" | "reconnecting" | "closed";

/**
 * Follows a connection's status events so health checks can ask synchronously.
 * nats.js v3 has `isClosed()` but no public "disconnected" flag.
 */
export class ConnectionMonitor {
  private current: ConnectionState = "connected";
  private lastErrorText: string | undefined;
  private reconnectsCount = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly onChange?: (state: ConnectionState, detail: string) => void,
  ) {
    void this.follow();
    void nc.closed().then((err) => this.set("closed", err ? err.message : "closed"));
  }

  get state(): ConnectionState {
    return this.nc.isClosed() ? "closed" : this.current;
  }
  get lastError(): string | undefined {
    return this.lastErrorText;
  }
  get reconnects(): number {
    return this.reconnectsCount;
  }

  private async follow(): Promise<void> {
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case "disconnect":
          this.set("reconnecting", `disconnected from ${s.server}`);
          break;
        case "reconnect":
          this.reconnectsCount++;
          this.set("connected", `reconnected to ${s.server}`);
          break;
        case "error":
          this.lastErrorText = s.error.message;
          break;
        default:
          break;
      }
    }
  }

  private set(state: ConnectionState, detail: string): void {
    if (this.current === "closed") return;
    this.current = state;
    this.onChange?.(state, detail);
  }
}
