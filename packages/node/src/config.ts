/**
 * A node's configuration: where NATS is, how to authenticate, and every timing
 * and size limit the node enforces, flat in one object with units last in each
 * name (`failureMsTimeout`, `batchBytesMax`). `defaultNodeConfig` is the one
 * place defaults live; `resolveConfig` merges overrides onto it and validates.
 *
 * Test switches disable a safety mechanism so the simulator can show that its
 * checkers catch the resulting bug. They are refused when `production` is true,
 * which is the default: a test must opt out of production explicitly.
 */
import { defaultEngineOptions, type EngineOptions } from "@bourse/engine";
import { PARTITIONS_MAX } from "./partitioning.js";

export interface TlsConfig {
  /** PEM file of the CA that signed the servers' certificates. */
  caFile?: string;
  /** PEM client certificate and key, for servers that verify clients. */
  certFile?: string;
  keyFile?: string;
}

/** At most one of user/pass, token, credsFile; TLS combines with any of them. */
export interface AuthConfig {
  user?: string;
  pass?: string;
  token?: string;
  /** A NATS `.creds` file (JWT + nkey seed). */
  credsFile?: string;
  tls?: TlsConfig;
}

/** Each switch disables one safety mechanism; all are refused in production. */
export interface TestSwitches {
  /** Publish output without `Nats-Expected-Last-Subject-Sequence`. */
  noOutputFencing?: boolean;
  /** On recovery, republish output that is already in BOURSE_OUT. */
  noOutputSuppression?: boolean;
  /** Apply a repeated cmdId again instead of restating its outcome (engine option testNoIdempotency). */
  noIdempotency?: boolean;
  /** Commands whose cmdId starts with this prefix make their handler throw. */
  poisonCmdIdPrefix?: string;
}

export type EngineConfig = Pick<EngineOptions, "terminalOrdersMax" | "idempotencyMax">;

export interface NodeConfig {
  /** Member id: a KV key and subject token, unique in the cluster. */
  id: string;
  servers: string[];
  auth: AuthConfig;
  /** Replicas of every stream, bucket and object store (1, 3 or 5 in practice). */
  replicas: number;
  /** Partition count; fixed when the cluster is created. */
  partitions: number;
  /** Port of /metrics, /healthz, /readyz; 0 picks a free one. */
  httpPort: number;
  heartbeatMsInterval: number;
  /** A member silent for this long is considered failed. */
  failureMsTimeout: number;
  /** A partition snapshots after this many commands or this long, whichever comes first. */
  snapshotCommandsEvery: number;
  snapshotMsEvery: number;
  /**
   * A partition whose snapshot is at least this many bytes keeps its rollback point in a
   * file under `rollbackDir` instead of memory (0: always in memory).
   */
  rollbackSpillBytes: number;
  /** Parent of the node's private spill directory; "" for the OS temp dir. */
  rollbackDir: string;
  /** An output batch is published when it holds this many events or bytes. */
  batchEventsMax: number;
  batchBytesMax: number;
  /** ... or when its oldest event has waited this long. */
  flushMsInterval: number;
  publishMsTimeout: number;
  /** Consecutive partition-loop failures before the node gives up its lease. */
  partitionRestartsMax: number;
  restartMsBackoffBase: number;
  restartMsBackoffMax: number;
  /** BOURSE_IN de-duplication window: how long a publisher may retry a cmdId. */
  duplicateMsWindow: number;
  production: boolean;
  testSwitches: TestSwitches;
  engine: EngineConfig;
}

export const defaultNodeConfig: Readonly<NodeConfig> = Object.freeze({
  id: "node-1",
  servers: ["nats://127.0.0.1:4222"],
  auth: {},
  replicas: 1,
  partitions: 64,
  httpPort: 9464,
  heartbeatMsInterval: 100,
  failureMsTimeout: 600,
  snapshotCommandsEvery: 10_000,
  snapshotMsEvery: 5_000,
  rollbackSpillBytes: 1024 * 1024,
  rollbackDir: "",
  batchEventsMax: 1_000,
  batchBytesMax: 512 * 1024,
  flushMsInterval: 2,
  publishMsTimeout: 2_000,
  partitionRestartsMax: 5,
  restartMsBackoffBase: 100,
  restartMsBackoffMax: 5_000,
  duplicateMsWindow: 120_000,
  production: true,
  testSwitches: {},
  engine: { terminalOrdersMax: defaultEngineOptions.terminalOrdersMax, idempotencyMax: defaultEngineOptions.idempotencyMax },
});

/** Overrides for resolveConfig: nested objects merge field by field. */
export type NodeConfigInput = Partial<Omit<NodeConfig, "auth" | "testSwitches" | "engine">> & {
  auth?: AuthConfig;
  testSwitches?: TestSwitches;
  engine?: Partial<EngineConfig>;
};

/** A configuration value out of range; `field` is its dotted path (`auth.pass`, `replicas`). */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "config_invalid";
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`config.${field} ${message}`, options);
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError;
}

/** Defaults, then `overrides`, validated. */
export function resolveConfig(overrides: NodeConfigInput = {}): NodeConfig {
  const d = defaultNodeConfig;
  const cfg: NodeConfig = {
    ...d,
    ...overrides,
    servers: [...(overrides.servers ?? d.servers)],
    auth: { ...d.auth, ...overrides.auth },
    testSwitches: { ...d.testSwitches, ...overrides.testSwitches },
    engine: { ...d.engine, ...overrides.engine },
  };
  validateConfig(cfg);
  return cfg;
}

/** The bounds of each integer field: [min, max], inclusive. */
const INT_RANGES = {
  replicas: [1, 5],
  partitions: [1, PARTITIONS_MAX],
  httpPort: [0, 65_535],
  heartbeatMsInterval: [10, 60_000],
  failureMsTimeout: [50, 600_000],
  snapshotCommandsEvery: [1, 100_000_000],
  snapshotMsEvery: [100, 3_600_000],
  rollbackSpillBytes: [0, 2 ** 40],
  batchEventsMax: [1, 1_000_000],
  // NATS's default max_payload is 1 MiB; servers may raise it to 64 MiB.
  batchBytesMax: [1024, 64 * 1024 * 1024],
  flushMsInterval: [0, 10_000],
  publishMsTimeout: [1, 600_000],
  partitionRestartsMax: [0, 1_000],
  restartMsBackoffBase: [1, 600_000],
  restartMsBackoffMax: [1, 3_600_000],
  duplicateMsWindow: [1_000, 7 * 24 * 3_600_000],
} as const satisfies Partial<Record<keyof NodeConfig, readonly [number, number]>>;

const ENGINE_RANGES = {
  terminalOrdersMax: [0, 100_000_000],
  // The engine remembers at least the last finished command (PartitionState asserts it):
  // 0 was accepted here, then failed every partition's start.
  idempotencyMax: [1, 100_000_000],
} as const satisfies Record<keyof EngineConfig, readonly [number, number]>;

/** Member ids become KV keys, subject tokens and header values. */
const NODE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws a ConfigError naming the first field that is out of range. */
export function validateConfig(cfg: NodeConfig): void {
  if (typeof cfg.id !== "string" || !NODE_ID_RE.test(cfg.id)) {
    throw new ConfigError("id", `must match ${NODE_ID_RE} (letters, digits, _ and -), got ${JSON.stringify(cfg.id)}`);
  }
  validateServers(cfg.servers);
  if (typeof cfg.rollbackDir !== "string") throw new ConfigError("rollbackDir", `must be a directory path or "", got ${JSON.stringify(cfg.rollbackDir)}`);
  for (const [field, [min, max]] of Object.entries(INT_RANGES)) {
    checkInt(field, cfg[field as keyof typeof INT_RANGES], min, max);
  }
  for (const [field, [min, max]] of Object.entries(ENGINE_RANGES)) {
    checkInt(`engine.${field}`, cfg.engine?.[field as keyof EngineConfig], min, max);
  }
  validateRelations(cfg);
  validateAuth(cfg.auth);
  validateSwitches(cfg);
}

function checkInt(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new ConfigError(field, `must be an integer, got ${JSON.stringify(value)}`);
  }
  if (value < min || value > max) throw new ConfigError(field, `must be between ${min} and ${max}, got ${value}`);
}

function validateServers(servers: unknown): void {
  if (!Array.isArray(servers) || servers.length === 0) throw new ConfigError("servers", "must list at least one server");
  servers.forEach((s, i) => {
    if (typeof s !== "string" || s.length === 0 || /[\s,]/.test(s)) {
      throw new ConfigError(`servers[${i}]`, `must be one server URL without spaces or commas, got ${JSON.stringify(s)}`);
    }
  });
}

/** Limits that only make sense relative to each other. */
function validateRelations(cfg: NodeConfig): void {
  // Two missed heartbeats must not already mean failure, or one GC pause evicts a member.
  if (cfg.failureMsTimeout < 3 * cfg.heartbeatMsInterval) {
    throw new ConfigError(
      "failureMsTimeout",
      `must be at least 3 × heartbeatMsInterval (${3 * cfg.heartbeatMsInterval}), got ${cfg.failureMsTimeout}`,
    );
  }
  if (cfg.restartMsBackoffMax < cfg.restartMsBackoffBase) {
    throw new ConfigError(
      "restartMsBackoffMax",
      `must be at least restartMsBackoffBase (${cfg.restartMsBackoffBase}), got ${cfg.restartMsBackoffMax}`,
    );
  }
}

function validateAuth(auth: AuthConfig | undefined): void {
  if (auth === null || typeof auth !== "object") throw new ConfigError("auth", "must be an object");
  for (const f of ["user", "pass", "token", "credsFile"] as const) {
    const v = auth[f];
    if (v !== undefined && (typeof v !== "string" || v.length === 0)) throw new ConfigError(`auth.${f}`, "must be a non-empty string when set");
  }
  if (auth.pass !== undefined && auth.user === undefined) throw new ConfigError("auth.user", "is required when auth.pass is set");
  if (auth.user !== undefined && auth.pass === undefined) throw new ConfigError("auth.pass", "is required when auth.user is set");
  const methods = [auth.user !== undefined && "user/pass", auth.token !== undefined && "token", auth.credsFile !== undefined && "credsFile"].filter(Boolean);
  if (methods.length > 1) throw new ConfigError("auth", `must use one authentication method, got ${methods.join(" and ")}`);
  const tls = auth.tls;
  if (tls === undefined) return;
  for (const f of ["caFile", "certFile", "keyFile"] as const) {
    const v = tls[f];
    if (v !== undefined && (typeof v !== "string" || v.length === 0)) throw new ConfigError(`auth.tls.${f}`, "must be a non-empty path when set");
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError(tls.certFile === undefined ? "auth.tls.certFile" : "auth.tls.keyFile", "and its pair (certFile/keyFile) must be set together");
  }
}

function validateSwitches(cfg: NodeConfig): void {
  if (typeof cfg.production !== "boolean") throw new ConfigError("production", `must be a boolean, got ${JSON.stringify(cfg.production)}`);
  const s = cfg.testSwitches;
  if (s === null || typeof s !== "object") throw new ConfigError("testSwitches", "must be an object");
  for (const f of ["noOutputFencing", "noOutputSuppression", "noIdempotency"] as const) {
    if (s[f] !== undefined && typeof s[f] !== "boolean") throw new ConfigError(`testSwitches.${f}`, `must be a boolean, got ${JSON.stringify(s[f])}`);
  }
  if (s.poisonCmdIdPrefix !== undefined && (typeof s.poisonCmdIdPrefix !== "string" || s.poisonCmdIdPrefix.length === 0)) {
    throw new ConfigError("testSwitches.poisonCmdIdPrefix", "must be a non-empty string when set");
  }
  if (!cfg.production) return;
  const on = activeTestSwitches(s);
  if (on.length > 0) {
    throw new ConfigError(`testSwitches.${on[0]}`, `is a test switch and is refused with production: true (set production: false to use it)`);
  }
}

/** The names of the switches that are on. */
export function activeTestSwitches(s: TestSwitches): (keyof TestSwitches)[] {
  return (Object.keys(s) as (keyof TestSwitches)[]).filter((k) => s[k] !== undefined && s[k] !== false).sort();
}
