/**
 * One nats-server process: config, spawn, readiness, stop/kill/restart, logs.
 * The public entry is ./nats-server.ts.
 *
 * Ports: client and monitoring ports are "-1" (the OS picks) and read back from
 * the file that --ports_file_dir makes the server write once its listeners are
 * up; after the first start the client port is pinned so restart() keeps it.
 * Readiness: "listening" = the ports file exists; "healthy" = also GET /healthz
 * is 200, which on 2.9 includes JetStream (and, clustered, a known meta leader).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isTracked, trackChild, trackDir, untrackChild, untrackDir } from "./reaper.js";

export const FIXTURE_LIMITS = {
  startMsTimeout: 10_000,
  stopMsTimeout: 5_000,
  clusterMsTimeout: 20_000,
  pollMsInterval: 25,
  httpMsTimeout: 1_000,
  logBytesMax: 64 * 1024,
  clusterStartAttemptsMax: 3,
} as const;

export interface NatsServerOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Extra config text appended to the generated file (later keys override earlier ones). */
  config?: string;
  /** Extra command-line arguments, e.g. ["-DV"]. */
  args?: string[];
}

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  readonly storeDir: string;
  readonly monitorUrl: string;
  readonly serverName: string | undefined;
  /** SIGTERM, then SIGKILL after FIXTURE_LIMITS.stopMsTimeout; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Send a signal (default SIGKILL) without waiting: crash or pause (SIGSTOP) a server. */
  kill(signal?: NodeJS.Signals): void;
  /**
   * Stop if running, then start again on the same port with the same store dir; waits until healthy.
   * A cluster member is healthy only once a quorum is up: after stopping a majority, restart them concurrently.
   */
  restart(): Promise<void>;
  /** Stop and remove every temp dir. Idempotent. */
  dispose(): Promise<void>;
  /** The tail of the server's log output. */
  logs(): string;
}

export type NatsFixtureErrorCode = "binary_missing" | "exited_early" | "start_timeout" | "cluster_timeout";

export class NatsFixtureError extends Error {
  override readonly name = "NatsFixtureError";
  constructor(
    readonly code: NatsFixtureErrorCode,
    message: string,
    readonly log = "",
    options?: { cause?: unknown },
  ) {
    super(log ? `${message}\n--- nats-server log ---\n${log}` : message, options);
  }
}

export interface ServerSpec extends NatsServerOptions {
  serverName?: string;
  cluster?: { name: string; port: number; routePorts: number[] };
  /**
   * A complete config instead of the generated one (e.g. deploy/nats rendered by
   * ./deploy-cluster.ts), called before every start with the client port to listen on
   * (-1 at the first start, so the OS picks; the pinned port after) and the store dir.
   * It must set `http` to port -1 (the ports file reports it). JetStream and its store
   * dir then come from this config, not from flags; `config` is still appended.
   */
  render?: (ctx: { port: number; storeDir: string }) => string;
  /** Files written next to the config before every start, e.g. one it includes. */
  files?: Readonly<Record<string, string>>;
  /** Added to the server's environment, e.g. variables the config references. */
  env?: Readonly<Record<string, string>>;
}

export class ServerProcess implements NatsServerHandle {
  url = "";
  port = -1;
  monitorUrl = "";
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output: string[] = [];
  private outputBytes = 0;
  private disposed = false;

  private constructor(
    private readonly spec: ServerSpec,
    private readonly workDir: string,
  ) {}

  static async create(spec: ServerSpec): Promise<ServerProcess> {
    const workDir = await mkdtemp(join(tmpdir(), "bourse-nats-"));
    trackDir(workDir);
    await mkdir(join(workDir, "store"));
    await mkdir(join(workDir, "ports"));
    return new ServerProcess(spec, workDir);
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }
  /** Started and not yet seen to exit. */
  get running(): boolean {
    return isTracked(this.child);
  }
  get storeDir(): string {
    return join(this.workDir, "store");
  }
  get serverName(): string | undefined {
    return this.spec.serverName;
  }

  async start(waitFor: "listening" | "healthy"): Promise<void> {
    const portsDir = join(this.workDir, "ports");
    await rm(portsDir, { recursive: true, force: true });
    await mkdir(portsDir);
    const confPath = join(this.workDir, "server.conf");
    for (const [name, text] of Object.entries(this.spec.files ?? {})) await writeFile(join(this.workDir, name), text);
    await writeFile(confPath, this.renderConfig());
    const args = ["-c", confPath, "--ports_file_dir", portsDir];
    if (!this.spec.render) {
      // JetStream and its store dir come from flags, not the file: 2.9 rejects store_dir in both places
      // ("Duplicate 'store_dir'"), and a `jetstream {}` block in opts.config must not lose our dir.
      args.push("-sd", this.storeDir);
      if (this.spec.jetstream) args.push("-js");
    }
    const env = this.spec.env ? { ...process.env, ...this.spec.env } : process.env;
    const child = spawn(serverBinary(), [...args, ...(this.spec.args ?? [])], { stdio: ["ignore", "pipe", "pipe"], env });
    this.child = child;
    this.output = [];
    this.outputBytes = 0;
    child.stdout?.on("data", (b: Buffer) => this.capture(b));
    child.stderr?.on("data", (b: Buffer) => this.capture(b));
    let failure: NatsFixtureError | undefined;
    this.exited = new Promise((resolve) => {
      // `on`, not `once`: an unhandled second "error" (e.g. a failed kill) would crash the test process.
      child.on("error", (e) => {
        if (child.pid !== undefined) return;
        failure ??= new NatsFixtureError("binary_missing", `cannot run ${serverBinary()}`, "", { cause: e });
        resolve();
      });
      // "close", not "exit": it comes after stdout/stderr are drained, so the log is complete.
      child.once("close", (code, signal) => {
        failure ??= new NatsFixtureError("exited_early", `nats-server exited (${signal ?? code}) while starting`, this.logs());
        untrackChild(child);
        resolve();
      });
    });
    trackChild(child);
    // A test that forgets dispose() must not hang the runner: the exit hook reaps the process.
    child.unref();
    for (const s of [child.stdout, child.stderr]) (s as { unref?: () => void } | null)?.unref?.();

    const deadline = Date.now() + FIXTURE_LIMITS.startMsTimeout;
    const ready = async (): Promise<boolean> => {
      if (!this.url && !(await this.readPortsFile(portsDir, child.pid))) return false;
      return waitFor === "listening" || (await httpOk(`${this.monitorUrl}/healthz`));
    };
    this.url = "";
    while (!(await ready())) {
      if (failure) throw failure;
      if (Date.now() > deadline) {
        await this.stop();
        throw new NatsFixtureError("start_timeout", `nats-server not ${waitFor} after ${FIXTURE_LIMITS.startMsTimeout} ms`, this.logs());
      }
      await sleep(FIXTURE_LIMITS.pollMsInterval);
    }
    // The process may have died between the last poll and now.
    if (failure) throw failure;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!isTracked(child)) return;
    child.kill("SIGTERM");
    child.kill("SIGCONT"); // a paused (SIGSTOP) server must wake up to act on SIGTERM
    // Cancel the timer once the process is gone, or it would hold the test process open.
    const ac = new AbortController();
    const timer = sleep(FIXTURE_LIMITS.stopMsTimeout, "timeout" as const, { signal: ac.signal }).catch(() => "cancelled");
    const outcome = await Promise.race([this.exited.then(() => "exited"), timer]);
    ac.abort();
    if (outcome === "timeout") {
      child.kill("SIGKILL");
      await this.exited;
    }
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (isTracked(this.child)) this.child.kill(signal);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start("healthy");
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.stop();
    await rm(this.workDir, { recursive: true, force: true });
    untrackDir(this.workDir);
  }

  logs(): string {
    return this.output.join("");
  }

  private capture(b: Buffer): void {
    this.output.push(b.toString("utf8"));
    this.outputBytes += b.length;
    while (this.outputBytes > FIXTURE_LIMITS.logBytesMax && this.output.length > 1) {
      this.outputBytes -= Buffer.byteLength(this.output.shift()!);
    }
  }

  /** The ports file is named <binary>_<pid>.ports; it may be caught half-written, so parse errors mean "not yet". */
  private async readPortsFile(portsDir: string, pid: number | undefined): Promise<boolean> {
    const file = (await readdir(portsDir)).find((f) => f.endsWith(`_${pid}.ports`));
    if (!file) return false;
    try {
      const ports = JSON.parse(await readFile(join(portsDir, file), "utf8")) as { nats?: string[]; monitoring?: string[] };
      const url = ports.nats?.[0];
      const monitor = ports.monitoring?.[0];
      if (!url || !monitor) return false;
      this.port = Number(new URL(url).port);
      this.monitorUrl = monitor;
      this.url = url;
      return true;
    } catch {
      return false;
    }
  }

  /** After the first start the client port is pinned, so restart() comes back where clients expect it. */
  private renderConfig(): string {
    if (this.spec.render) {
      const text = this.spec.render({ port: this.port, storeDir: this.storeDir });
      return this.spec.config ? `${text}\n${this.spec.config}\n` : text;
    }
    const q = JSON.stringify;
    const lines = [`listen: ${q(`127.0.0.1:${this.port}`)}`, `http: "127.0.0.1:-1"`];
    if (this.spec.serverName) lines.push(`server_name: ${q(this.spec.serverName)}`);
    const c = this.spec.cluster;
    if (c) {
      const routes = c.routePorts.map((p) => q(`nats-route://127.0.0.1:${p}`)).join(", ");
      lines.push(`cluster { name: ${q(c.name)}, listen: ${q(`127.0.0.1:${c.port}`)}, routes: [${routes}] }`);
    }
    if (this.spec.config) lines.push(this.spec.config);
    return lines.join("\n") + "\n";
  }
}

export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(FIXTURE_LIMITS.httpMsTimeout) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** $NATS_SERVER_BIN, else the first nats-server on PATH, else Debian's /usr/sbin (not on every PATH). */
export function serverBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const found = [...dirs, "/usr/sbin", "/usr/local/sbin"].map((d) => join(d, "nats-server")).find((f) => existsSync(f));
  return found ?? "nats-server";
}
