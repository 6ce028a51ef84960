/**
 * The local nats-server of `bourse dev`: JetStream on, storing under the data
 * dir so a second run resumes, listening on 127.0.0.1 only, on its own port
 * (4333 by default) so it never meets a shared server on 4222.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { DevError, throwIfStopped } from "./errors.js";
import { devLimits } from "./limits.js";
import { logOffset, logTail } from "./log-file.js";
import { ManagedProcess } from "./processes.js";

export const NATS_HOST = "127.0.0.1";
/** Overrides the search for the binary (as in the test fixture). */
export const NATS_BIN_ENV = "NATS_SERVER_BIN";

/** $NATS_SERVER_BIN, else the first nats-server on PATH, else Debian's sbin dirs (not on every user's PATH). */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env[NATS_BIN_ENV];
  if (explicit !== undefined && explicit !== "") return isExecutable(explicit) ? explicit : undefined;
  const dirs = (env["PATH"] ?? "").split(delimiter).filter((d) => d !== "");
  return [...dirs, "/usr/sbin", "/usr/local/sbin"].map((d) => join(d, "nats-server")).find(isExecutable);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return existsSync(file);
  } catch {
    return false;
  }
}

/** What to run to get nats-server, this platform's way first. */
export function installHint(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  const ways: [NodeJS.Platform | "other", string][] = [
    ["linux", "Debian/Ubuntu:  sudo apt-get install nats-server   (installs /usr/sbin/nats-server)"],
    ["darwin", "macOS:          brew install nats-server"],
    ["other", "Elsewhere:      a release binary from https://github.com/nats-io/nats-server/releases\n" +
      "                or, with Go:   go install github.com/nats-io/nats-server/v2@latest"],
  ];
  ways.sort(([a], [b]) => Number(b === platform) - Number(a === platform));
  const explicit = env[NATS_BIN_ENV];
  return [
    explicit !== undefined && explicit !== ""
      ? `$${NATS_BIN_ENV} is ${explicit}, which is not an executable file.`
      : "nats-server is not installed (looked on PATH, in /usr/sbin and in /usr/local/sbin).",
    "Install it:",
    ...ways.map(([, w]) => `  ${w}`),
    "or point bourse dev at a running server with --nats URL (JetStream enabled).",
  ].join("\n");
}

/** True if nothing listens on host:port (we could bind it). */
export function portFree(port: number, host = NATS_HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export interface LocalNatsOptions {
  bin: string;
  port: number;
  /** JetStream store: streams, buckets and snapshots persist here between runs. */
  storeDir: string;
  logFile: string;
}

export interface LocalNats {
  readonly url: string;
  readonly process: ManagedProcess;
}

/** The args `bourse dev` runs nats-server with; the pid file matches on them. */
export function natsArgs(o: Pick<LocalNatsOptions, "port" | "storeDir">): string[] {
  return ["-a", NATS_HOST, "-p", String(o.port), "-js", "-sd", o.storeDir, "-n", "bourse-dev"];
}

/**
 * Starts nats-server (telling `onSpawn` its process at once, for the pid file
 * and for a stop during the wait) and resolves once JetStream answers; on
 * failure stops it and throws a DevError with the end of its log.
 */
export async function startLocalNats(o: LocalNatsOptions, onSpawn: (p: ManagedProcess) => void, signal?: AbortSignal): Promise<LocalNats> {
  const offset = logOffset(o.logFile);
  const proc = ManagedProcess.start({ name: "nats-server", command: o.bin, args: natsArgs(o), logFile: o.logFile });
  if (proc.running) onSpawn(proc);
  const url = `nats://${NATS_HOST}:${o.port}`;
  const deadline = Date.now() + devLimits.natsStartMsTimeout;
  for (;;) {
    throwIfStopped(signal, "waiting for nats-server");
    if (!proc.running) {
      await proc.exited; // a failed spawn reports its error a tick later
      const log = logTail(o.logFile, offset);
      const why = proc.startError ? `cannot run ${o.bin}: ${proc.startError.message}` : `nats-server exited (${describeExit(proc)}) while starting`;
      const hint = /address already in use/i.test(log) ? `\nport ${o.port} was taken meanwhile; pass another --port` : "";
      throw new DevError("nats_failed", `${why}; the end of ${o.logFile}:\n${log}${hint}`);
    }
    if (await jetStreamAnswers(url)) return { url, process: proc };
    if (Date.now() > deadline) {
      await proc.stop(devLimits.natsStopMsTimeout);
      throw new DevError("nats_failed", `nats-server did not answer JetStream requests on ${url} within ${devLimits.natsStartMsTimeout} ms; the end of ${o.logFile}:\n${logTail(o.logFile, offset)}`);
    }
    await sleep(devLimits.pollMsInterval * 2);
  }
}

/** One connection attempt: connects, asks JetStream for the account info, closes. */
export async function jetStreamAnswers(url: string): Promise<boolean> {
  let nc;
  try {
    nc = await connect({ servers: url, reconnect: false, timeout: devLimits.httpMsTimeout, name: "bourse-dev-probe" });
  } catch {
    return false;
  }
  try {
    await jetstreamManager(nc, { timeout: devLimits.httpMsTimeout });
    return true;
  } catch {
    return false;
  } finally {
    await nc.close().catch(() => {});
  }
}

export function describeExit(p: ManagedProcess): string {
  const e = p.exitInfo;
  if (e === undefined) return "running";
  return e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`;
}
