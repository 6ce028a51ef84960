/**
 * The flags of the commands that talk to a cluster's NATS servers as a member or
 * an operator (`bourse node`, `bourse status`): where the servers are, how to
 * authenticate, and the failure timeout that decides whether a member is live.
 * One table each, spread into the commands' own tables, so the commands cannot
 * drift apart.
 */
import type { AuthConfig } from "../config.js";
import { positiveInt, UsageError, type OptionSpec, type Parsed } from "./options.js";

export const natsOption = {
  name: "nats",
  argument: "URL[,URL...]",
  description: "NATS server URLs",
  default: "nats://127.0.0.1:4222",
} as const satisfies OptionSpec;

/** One authentication method (user/password, token or creds) and TLS; secrets may come from the environment. */
export const natsAuthOptions = [
  { name: "user", argument: "USER", description: "NATS user" },
  { name: "password", argument: "PASS", description: "NATS password (prefer BOURSE_NATS_PASSWORD)" },
  { name: "token", argument: "TOKEN", description: "NATS token (prefer BOURSE_NATS_TOKEN)" },
  { name: "creds", argument: "FILE", description: "NATS credentials file (JWT + nkey seed)" },
  { name: "tls-ca", argument: "FILE", description: "CA certificate to verify the servers" },
  { name: "tls-cert", argument: "FILE", description: "Client certificate (mutual TLS)" },
  { name: "tls-key", argument: "FILE", description: "Client key (mutual TLS)" },
] as const satisfies readonly OptionSpec[];

export const failureTimeoutOption = {
  name: "failure-timeout-ms",
  argument: "MS",
  description: "A member silent this long is considered failed",
  default: 600,
  parse: positiveInt(600_000),
} as const satisfies OptionSpec;

/** The AuthConfig the auth flags describe; BOURSE_NATS_PASSWORD and BOURSE_NATS_TOKEN stand in for the flags. */
export function authConfig(o: Parsed<typeof natsAuthOptions>): AuthConfig {
  const pass = o.password ?? process.env["BOURSE_NATS_PASSWORD"];
  const token = o.token ?? process.env["BOURSE_NATS_TOKEN"];
  const tls = o["tls-ca"] || o["tls-cert"] || o["tls-key"] ? { caFile: o["tls-ca"], certFile: o["tls-cert"], keyFile: o["tls-key"] } : undefined;
  return { user: o.user, pass, token, credsFile: o.creds, ...(tls ? { tls } : {}) };
}

/** The comma-separated URLs of --nats, trimmed, empty entries dropped. */
export function serverList(raw: string): string[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * A parser for --nats that checks each URL as nats.js will use it: `nats://` or
 * `tls://` (or no scheme), a host, and a port 1..65535 if given. Returns the list.
 */
export function natsUrls(raw: string, flag: string): string[] {
  const servers = serverList(raw);
  const bad = (what: string): never => {
    throw new UsageError(`${flag} must be comma-separated nats://HOST[:PORT] or tls://HOST[:PORT] URLs, got "${raw}" (${what})`);
  };
  if (servers.length === 0) bad("no URL");
  for (const s of servers) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(s)?.[1]?.toLowerCase();
    if (scheme !== undefined && scheme !== "nats" && scheme !== "tls") bad(`unsupported scheme ${scheme}://`);
    let url: URL;
    try {
      url = new URL(scheme === undefined ? `nats://${s}` : s);
    } catch {
      return bad(`"${s}" is not a URL`);
    }
    if (url.hostname === "") bad(`"${s}" has no host`);
    if (url.port === "0") bad(`"${s}" has port 0`);
    if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") bad(`"${s}" has a path or query`);
  }
  return servers;
}
