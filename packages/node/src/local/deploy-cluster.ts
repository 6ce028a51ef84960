/**
 * The production NATS configuration (deploy/nats: nats-1.conf … nats-3.conf and the
 * accounts.conf they include) run for real on this machine: the same files, with
 * only what cannot be the same rewritten: client ports (the OS picks them),
 * monitoring ports (likewise), route ports (reserved free ports), route host names
 * (127.0.0.1) and store dirs (temp dirs). Accounts, users, permissions, the subject
 * mapping and JetStream settings are exactly the deployed ones, so tests and the
 * simulation exercise what production runs.
 *
 * One more adaptation, to the local server's version: the configs set
 * `sync_interval: always`, which nats-server < 2.12 refuses to start with (Debian
 * ships 2.9.10); on such a server the line is removed (the handle's `syncAlways`
 * says which), exactly what the config's comment tells a 2.9.10 operator to do.
 *
 * Passwords: accounts.conf reads them from environment variables; each start
 * generates fresh ones and gives them to the servers' environment, and the handle
 * returns them per role (node, admin, sys, and one publisher per trading account).
 *
 * Every server is a ServerProcess like startNatsCluster's: killable, restartable on
 * the same ports and store, and reaped at exit even without dispose().
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NatsFixtureError, ServerProcess, serverBinary, type NatsServerHandle } from "./nats-process.js";
import { Cluster, startClusterRetrying, type NatsClusterHandle } from "./nats-server.js";

/** deploy/nats of this repository (from dist/src/local). */
export const DEPLOY_NATS_DIR = fileURLToPath(new URL("../../../../../deploy/nats/", import.meta.url));

/** The file every server config includes. */
const ACCOUNTS_FILE = "accounts.conf";

/** The first nats-server version that accepts `sync_interval: always`. */
export const SYNC_ALWAYS_MIN_VERSION = [2, 12, 0] as const;

export interface DeployClusterOptions {
  /** Directory with nats-<i>.conf and accounts.conf; default DEPLOY_NATS_DIR. */
  configDir?: string;
  /** Extra config text appended to every server's rendered config (later keys override). */
  config?: string;
  /** Extra nats-server arguments, e.g. ["-DV"]. */
  args?: string[];
}

export interface DeployCredential {
  user: string;
  pass: string;
}

export interface PublisherCredential extends DeployCredential {
  /** The trading account this user may trade for. */
  account: string;
  /** The inbox prefix its client must use (nats.js `inboxPrefix`): the only inboxes it may read. */
  inboxPrefix: string;
}

export interface DeployCredentials {
  node: DeployCredential;
  admin: DeployCredential;
  /** The system account's user (server monitoring over NATS). */
  sys: DeployCredential;
  /** One per trading account, by account name. */
  publishers: Record<string, PublisherCredential>;
}

export interface DeployClusterHandle extends NatsClusterHandle {
  /** nats-1, nats-2, nats-3 in that order; each kill()/restart()-able. */
  readonly servers: NatsServerHandle[];
  readonly credentials: DeployCredentials;
  /** The partition count the bourse.cmd mapping of accounts.conf is written for. */
  readonly partitions: number;
  /** The password variables given to the servers (name → value). */
  readonly env: Readonly<Record<string, string>>;
  /** Where the configs were read from. */
  readonly configDir: string;
  /** The servers' version, e.g. "2.9.10". */
  readonly serverVersion: string;
  /** Whether the servers run with `sync_interval: always` (false: removed for a server older than 2.12). */
  readonly syncAlways: boolean;
}

export type DeployConfigErrorCode = "deploy_config_invalid";

/** A deploy config does not have the shape the renderer relies on; the message names the file and what is missing. */
export class DeployConfigError extends Error {
  override readonly name = "DeployConfigError";
  readonly code: DeployConfigErrorCode = "deploy_config_invalid";
}

/** One server's config file, with what the renderer needs from it. */
interface ServerFile {
  file: string;
  text: string;
  serverName: string;
  clusterName: string;
}

/**
 * Starts the deploy cluster: one server per nats-<i>.conf, on free ports, fresh store
 * dirs, fresh passwords. Resolves once every member agrees on a JetStream meta leader.
 */
export async function startDeployCluster(opts: DeployClusterOptions = {}): Promise<DeployClusterHandle> {
  const configDir = opts.configDir ?? DEPLOY_NATS_DIR;
  const files = readServerFiles(configDir);
  const accounts = readFileSync(join(configDir, ACCOUNTS_FILE), "utf8");
  const { credentials, env } = credentialsOf(accounts);
  const partitions = mappedPartitions(accounts);
  const version = natsServerVersion();
  const syncAlways = versionAtLeast(version, SYNC_ALWAYS_MIN_VERSION);
  return startClusterRetrying(files.length, async (routePorts) => {
    const routeOf = new Map(files.map((f, i) => [f.serverName, routePorts[i]!]));
    const servers = await Promise.all(
      files.map((f, i) =>
        ServerProcess.create({
          serverName: f.serverName,
          jetstream: true,
          render: ({ port, storeDir }) => renderServerConfig(f, { port, routePort: routePorts[i]!, routeOf, storeDir, syncAlways }),
          files: { [ACCOUNTS_FILE]: accounts },
          env,
          ...(opts.config !== undefined ? { config: opts.config } : {}),
          ...(opts.args !== undefined ? { args: opts.args } : {}),
        }),
      ),
    );
    return new DeployCluster(files[0]!.clusterName, servers, { credentials, partitions, env, configDir, serverVersion: version, syncAlways });
  });
}

type DeployFacts = Pick<DeployClusterHandle, "credentials" | "partitions" | "env" | "configDir" | "serverVersion" | "syncAlways">;

class DeployCluster extends Cluster implements DeployClusterHandle {
  readonly credentials: DeployCredentials;
  readonly partitions: number;
  readonly env: Readonly<Record<string, string>>;
  readonly configDir: string;
  readonly serverVersion: string;
  readonly syncAlways: boolean;

  constructor(name: string, servers: ServerProcess[], facts: DeployFacts) {
    super(name, servers);
    this.credentials = facts.credentials;
    this.partitions = facts.partitions;
    this.env = facts.env;
    this.configDir = facts.configDir;
    this.serverVersion = facts.serverVersion;
    this.syncAlways = facts.syncAlways;
  }
}

/** `nats-server --version` of the binary the fixture runs: "2.9.10". */
export function natsServerVersion(): string {
  let out: string;
  try {
    out = execFileSync(serverBinary(), ["--version"], { encoding: "utf8" });
  } catch (e) {
    throw new NatsFixtureError("binary_missing", `cannot run ${serverBinary()} --version`, "", { cause: e });
  }
  const m = /v?(\d+\.\d+\.\d+)/.exec(out);
  if (!m) throw new DeployConfigError(`cannot read the version of ${serverBinary()} from ${JSON.stringify(out.trim())}`);
  return m[1]!;
}

export function versionAtLeast(version: string, min: readonly [number, number, number]): boolean {
  const v = version.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  }
  return true;
}

/** nats-1.conf, nats-2.conf, … in numeric order. */
function readServerFiles(dir: string): ServerFile[] {
  const names = readdirSync(dir)
    .filter((f) => /^nats-\d+\.conf$/.test(f))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
  if (names.length === 0) throw new DeployConfigError(`no nats-<i>.conf in ${dir}`);
  return names.map((file) => {
    const text = readFileSync(join(dir, file), "utf8");
    const serverName = one(file, text, /^server_name:\s*"([^"]+)"\s*$/m, 'server_name: "<name>"')[1]!;
    const clusterName = one(file, text, /^\s+name:\s*"([^"]+)"\s*$/m, 'cluster { name: "<name>" }')[1]!;
    return { file, text, serverName, clusterName };
  });
}

interface RenderPorts {
  /** Client port: -1 at the first start, then the pinned one. */
  port: number;
  routePort: number;
  /** Route port of each server, by server name (= the host name in route URLs). */
  routeOf: ReadonlyMap<string, number>;
  storeDir: string;
  /** False for a server older than 2.12: `sync_interval: always` is removed. */
  syncAlways: boolean;
}

/**
 * The deployed config with only ports, route hosts and the store dir rewritten. Each
 * rewrite must match exactly once, so a change to the deploy config that the renderer
 * does not understand fails loudly instead of starting something else.
 */
export function renderServerConfig(f: Pick<ServerFile, "file" | "text">, r: RenderPorts): string {
  const q = JSON.stringify;
  let text = f.text;
  const rewrite = (re: RegExp, what: string, to: (m: RegExpExecArray) => string): void => {
    const m = one(f.file, text, re, what);
    text = text.slice(0, m.index) + to(m) + text.slice(m.index + m[0].length);
  };
  rewrite(/^(\s*)listen:\s*"[^"]*:4222"/m, 'listen: "<host>:4222"', (m) => `${m[1]}listen: ${q(`127.0.0.1:${r.port}`)}`);
  rewrite(/^(\s*)http:\s*"[^"]*:8222"/m, 'http: "<host>:8222"', (m) => `${m[1]}http: "127.0.0.1:-1"`);
  rewrite(/^(\s*)listen:\s*"[^"]*:6222"/m, 'cluster { listen: "<host>:6222" }', (m) => `${m[1]}listen: ${q(`127.0.0.1:${r.routePort}`)}`);
  rewrite(/^(\s*)store_dir:\s*"[^"]*"/m, 'jetstream { store_dir: "<dir>" }', (m) => `${m[1]}store_dir: ${q(r.storeDir)}`);
  let routes = 0;
  text = text.replace(/nats-route:\/\/([A-Za-z0-9.-]+):6222/g, (_all, host: string) => {
    const port = r.routeOf.get(host);
    if (port === undefined) throw new DeployConfigError(`${f.file}: route to ${host}, which is not the server_name of any nats-<i>.conf`);
    routes++;
    return `nats-route://127.0.0.1:${port}`;
  });
  if (routes !== r.routeOf.size) throw new DeployConfigError(`${f.file}: ${routes} routes, expected one per server (${r.routeOf.size})`);
  if (!r.syncAlways) {
    rewrite(/^(\s*)sync_interval:\s*always\s*$/m, "jetstream { sync_interval: always }", (m) => `${m[1]}# sync_interval: always (removed: this nats-server is older than 2.12)`);
  }
  return text;
}

function one(file: string, text: string, re: RegExp, what: string): RegExpExecArray {
  const all = [...text.matchAll(new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`))];
  if (all.length !== 1) throw new DeployConfigError(`${file}: expected exactly one ${what}, found ${all.length}`);
  return all[0] as RegExpExecArray;
}

/** The P of `{{partition(P,1)}}` in the bourse.cmd mapping. */
export function mappedPartitions(accounts: string): number {
  const m = one(ACCOUNTS_FILE, stripComments(accounts), /"bourse\.cmd\.\*\.\*"\s*:\s*"bourse\.in\.\{\{partition\((\d+),\s*1\)\}\}\.\{\{wildcard\(1\)\}\}\.\{\{wildcard\(2\)\}\}"/, "bourse.cmd mapping");
  return Number(m[1]);
}

/**
 * Every user of accounts.conf with its role, and a fresh password for each password
 * variable. Roles: permissions $NODE_PERMISSIONS → node, $ADMIN_PERMISSIONS → admin,
 * a user of the SYS account → sys, a user allowed to read bourse.evt.<account> →
 * publisher for that account.
 */
export function credentialsOf(accounts: string): { credentials: DeployCredentials; env: Record<string, string> } {
  const text = stripComments(accounts);
  const sysAt = one(ACCOUNTS_FILE, text, /^\s*SYS\s*\{/m, "SYS account").index;
  const env: Record<string, string> = {};
  const found: Partial<Omit<DeployCredentials, "publishers">> = {};
  const publishers: Record<string, PublisherCredential> = {};
  for (const m of text.matchAll(/\{\s*user:\s*([A-Za-z0-9_-]+)\s*,?\s*password:\s*\$([A-Za-z0-9_]+)/g)) {
    const [, user, variable] = m as unknown as [string, string, string];
    // Letters first: the server parses the variable's value as a config value, and a number is refused.
    const pass = (env[variable] ??= `pw${randomBytes(16).toString("hex")}`);
    const block = balancedBlock(text, m.index);
    const evt = /"bourse\.evt\.([^".*>]+)"/.exec(block);
    if (block.includes("$NODE_PERMISSIONS")) found.node = { user, pass };
    else if (block.includes("$ADMIN_PERMISSIONS")) found.admin = { user, pass };
    else if (m.index > sysAt) found.sys = { user, pass };
    else if (evt) {
      const inbox = /"(_INBOX\.[^".*>]+)\.>"/.exec(block);
      if (!inbox) throw new DeployConfigError(`${ACCOUNTS_FILE}: publisher ${user} may not subscribe to any _INBOX.<prefix>.> (publish acks would never arrive)`);
      publishers[evt[1]!] = { user, pass, account: evt[1]!, inboxPrefix: inbox[1]! };
    }
  }
  for (const role of ["node", "admin", "sys"] as const) {
    if (!found[role]) throw new DeployConfigError(`${ACCOUNTS_FILE}: no ${role} user found`);
  }
  return { credentials: { node: found.node!, admin: found.admin!, sys: found.sys!, publishers }, env };
}

/** The text from the `{` at `start` to its matching `}`. */
function balancedBlock(text: string, start: number): string {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(start, i + 1);
  }
  throw new DeployConfigError(`${ACCOUNTS_FILE}: unbalanced braces after offset ${start}`);
}

/** `#` and `//` comments to end of line, outside double-quoted strings. */
function stripComments(text: string): string {
  return text.replace(/"(?:[^"\\\n]|\\.)*"|(#|\/\/)[^\n]*/g, (m, comment: string | undefined) => (comment ? "" : m));
}
