/**
 * The node's logs: pino JSON lines, one logger per node carrying `node`, child
 * loggers per partition carrying `partition`. The level comes from the
 * environment so an operator can turn on debug without a new config.
 */
import { pino, type DestinationStream, type Logger } from "pino";
import { ConfigError, type NodeConfig } from "./config.js";

export type { Logger } from "pino";

export const LOG_LEVEL_ENV = "BOURSE_LOG_LEVEL";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** Overrides the environment's level. */
  level?: string;
  /** Where lines go (default: stdout). Tests pass a stream that collects them. */
  destination?: DestinationStream;
  /** Read instead of process.env (tests). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A logger whose every line carries `{ node: cfg.id }`. Throws ConfigError on an unknown level. */
export function createLogger(cfg: Pick<NodeConfig, "id">, opts: LoggerOptions = {}): Logger {
  const level = logLevel(opts.level ?? (opts.env ?? process.env)[LOG_LEVEL_ENV]);
  const options = {
    level,
    base: { node: cfg.id },
    // Level names, not numbers: lines are read by people and by log queries that match "error".
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** The logger of one partition's loop: every line carries `partition`. */
export function partitionLogger(log: Logger, partition: number): Logger {
  return log.child({ partition });
}

function logLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === "") return "info";
  const level = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`env.${LOG_LEVEL_ENV}`, `must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(raw)}`);
  }
  return level as LogLevel;
}
