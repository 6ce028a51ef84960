/**
 * Real `bourse node` processes for integration tests: spawned from the built CLI,
 * ready when they log "node started", stopped by pid (SIGTERM, SIGKILL, SIGSTOP /
 * SIGCONT), reaped at exit like the NATS fixture's servers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { trackChild, untrackChild } from "./reaper.js";
import { NODE_V8_FLAGS } from "../v8-flags.js";

const BIN = fileURLToPath(new URL("../../../bin/bourse.js", import.meta.url));
const START_MS_TIMEOUT = 15_000;

export interface NodeProcessOptions {
  id: string;
  nats: string;
  partitions: number;
  /** Extra CLI flags (e.g. --dev --test-poison-prefix poison-). */
  args?: string[];
  /** Also append every output line to this file (kept for post-mortems). */
  logFile?: string;
  /** Called with each parsed line as it arrives. */
  onLine?: (line: LogLine) => void;
  /** Extra environment (e.g. BOURSE_NATS_PASSWORD). */
  env?: Record<string, string>;
}

export interface LogLine {
  msg?: string;
  level?: string;
  partition?: number;
  [k: string]: unknown;
}

export class NodeProcess {
  readonly lines: LogLine[] = [];
  httpPort = 0;
  private exited: Promise<number | null>;
  private child: ChildProcess;

  private constructor(readonly opts: NodeProcessOptions) {
    const args = [...NODE_V8_FLAGS, BIN, "node", "--nats", opts.nats, "--id", opts.id, "--partitions", String(opts.partitions), "--http-port", "0", ...(opts.args ?? [])];
    this.child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BOURSE_LOG_LEVEL: "info", ...opts.env } });
    trackChild(this.child);
    let buf = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (opts.logFile !== undefined) appendFileSync(opts.logFile, line + "\n");
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          parsed = { msg: line };
        }
        this.lines.push(parsed);
        opts.onLine?.(parsed);
      }
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.lines.push({ msg: `stderr: ${d.toString()}` });
      if (opts.logFile !== undefined) appendFileSync(opts.logFile, `stderr: ${d.toString()}`);
    });
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => {
      untrackChild(this.child);
      resolve(code);
    }));
  }

  static async start(opts: NodeProcessOptions): Promise<NodeProcess> {
    const n = new NodeProcess(opts);
    const end = Date.now() + START_MS_TIMEOUT;
    for (;;) {
      const started = n.lines.find((l) => l.msg === "node started");
      if (started) {
        n.httpPort = Number(started["httpPort"]);
        return n;
      }
      if (n.child.exitCode !== null || Date.now() > end) {
        n.kill("SIGKILL");
        throw new Error(`node ${opts.id} did not start:\n${n.logText()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Started and not yet exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Resolves with the exit code once the process is gone. */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  async stop(): Promise<void> {
    this.kill("SIGCONT");
    this.kill("SIGTERM");
    const t = setTimeout(() => this.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(t);
  }

  /** Partitions this node logged as serving after `since` (index into lines). */
  servingPartitions(since = 0): number[] {
    return this.lines.slice(since).filter((l) => l.msg === "partition serving").map((l) => Number(l.partition));
  }

  logText(): string {
    return this.lines.map((l) => JSON.stringify(l)).join("\n");
  }
}
