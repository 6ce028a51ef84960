/**
 * The benchmark's Bourse cluster: three real `bourse node` processes on the
 * benchmark's nats-server, every one started and stopped by pid (reaped at exit
 * by the local fixtures even if the benchmark dies). Follows their logs to know
 * when every partition is served and ownership has settled; defines the markets.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { decodeEvents, encodeCommand, type MarketEvent } from "@bourse/engine";
import { NodeProcess, type LogLine } from "../../local/node-process.js";
import { partitionOf } from "../../partitioning.js";
import { subjects } from "../../protocol.js";
import { publishCommand } from "../../client/publish.js";
import { profilerEnv } from "./node-profiling.js";
import { BENCH_PUBLISH_POLICY } from "./publisher.js";
import { ADMIN_ACCOUNT, marketDefinition } from "./workload.js";

/** After these lines a node no longer serves the partition they name. */
const ENDED = new Set([
  "partition loop ended",
  "lease taken by another node; stopping the partition",
  "partition fenced: another owner wrote its output; stopped",
  "partition released",
]);
const POLL_MS = 50;

export interface BenchClusterOptions {
  url: string;
  nodes: number;
  partitions: number;
  logDir: string;
  /** Extra `bourse node` flags. */
  args: readonly string[];
  /** Start the nodes under the profiler preload, writing here. */
  profileDir?: string;
  settledMs: number;
  startMsTimeout: number;
}

export class BenchCluster {
  readonly ids: string[];
  readonly procs: NodeProcess[] = [];
  private readonly owner = new Map<number, string>();
  private lastChangeAt = performance.now();
  /** Ownership changes once settled: a partition that stopped or started being served. */
  readonly changes: { atMs: number; partition: number; node: string; msg: string }[] = [];
  private settledAt: number | undefined;

  private constructor(readonly opts: BenchClusterOptions) {
    this.ids = Array.from({ length: opts.nodes }, (_, i) => `e2e-node-${i + 1}`);
  }

  static async start(opts: BenchClusterOptions): Promise<BenchCluster> {
    const c = new BenchCluster(opts);
    try {
      const env = opts.profileDir !== undefined ? profilerEnv(opts.profileDir) : undefined;
      const starting = c.ids.map((id) =>
        NodeProcess.start({
          id,
          nats: opts.url,
          partitions: opts.partitions,
          args: [...opts.args],
          logFile: join(opts.logDir, `${id}.log`),
          onLine: (l) => c.onLine(id, l),
          ...(env !== undefined ? { env } : {}),
        }),
      );
      const started = await Promise.allSettled(starting);
      for (const r of started) if (r.status === "fulfilled") c.procs.push(r.value);
      const failed = started.find((r) => r.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      await c.waitSettled();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** Every partition served by a running node, and no ownership change for settledMs. */
  async waitSettled(): Promise<void> {
    const deadline = performance.now() + this.opts.startMsTimeout;
    for (;;) {
      const unserved = this.unserved();
      if (unserved.length === 0 && performance.now() - this.lastChangeAt >= this.opts.settledMs) {
        this.settledAt = performance.now();
        return;
      }
      if (performance.now() > deadline) {
        throw new Error(`partitions ${unserved.join(", ") || "(all served, but ownership kept changing)"} not settled after ${this.opts.startMsTimeout} ms (node logs in ${this.opts.logDir})`);
      }
      const dead = this.procs.find((p) => !p.running);
      if (dead !== undefined) throw new Error(`node ${dead.opts.id} exited (log: ${join(this.opts.logDir, `${dead.opts.id}.log`)})`);
      await sleep(POLL_MS);
    }
  }

  /** Publishes the `market` commands and waits until every market's definition is durable (its market-data event). */
  async defineMarkets(markets: readonly string[], tag: string, msTimeout: number): Promise<void> {
    const nc: NatsConnection = await connect({ servers: [this.opts.url], name: "bourse-bench-e2e-admin" });
    try {
      const waiting = new Set(markets);
      const sub = nc.subscribe(subjects.md(">"), {
        callback: (err, m) => {
          if (err !== null) return;
          for (const e of decodeEvents(m.data)) if (e.type === "market") waiting.delete((e as MarketEvent).spec.symbol);
        },
      });
      await nc.flush();
      const js = jetstream(nc);
      await Promise.all(
        markets.map((m) => {
          const cmd = marketDefinition(m, tag);
          return publishCommand(js, subjects.in(partitionOf(m, this.opts.partitions), m, ADMIN_ACCOUNT), encodeCommand(cmd), cmd.cmdId, BENCH_PUBLISH_POLICY);
        }),
      );
      const deadline = performance.now() + msTimeout;
      while (waiting.size > 0) {
        if (performance.now() > deadline) throw new Error(`markets ${[...waiting].slice(0, 5).join(", ")}${waiting.size > 5 ? "…" : ""} not defined after ${msTimeout} ms`);
        await sleep(POLL_MS);
      }
      sub.unsubscribe();
    } finally {
      await nc.close().catch(() => {});
    }
  }

  /** Every node still running? (A node that died invalidates the figures.) */
  deadNodes(): string[] {
    return this.procs.filter((p) => !p.running).map((p) => p.opts.id);
  }

  signal(sig: NodeJS.Signals): void {
    for (const p of this.procs) p.kill(sig);
  }

  /** SIGTERM (graceful: flush, snapshot, release), SIGKILL after the grace. */
  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
  }

  private unserved(): number[] {
    const live = new Set(this.procs.filter((p) => p.running).map((p) => p.opts.id));
    const out: number[] = [];
    for (let p = 0; p < this.opts.partitions; p++) if (!live.has(this.owner.get(p) ?? "")) out.push(p);
    return out;
  }

  /** The ownership changes since the cluster settled, in a line. */
  describeChanges(): string {
    if (this.changes.length === 0) return "no partition changed owner since the start";
    const shown = this.changes.slice(0, 10).map((c) => `+${(c.atMs / 1000).toFixed(1)} s partition ${c.partition} ${c.node}: ${c.msg}`);
    return `${this.changes.length} partition ownership changes since the start (${shown.join("; ")}${this.changes.length > 10 ? "; …" : ""})`;
  }

  private onLine(id: string, l: LogLine): void {
    if (typeof l.partition !== "number") return;
    const changed = (): void => {
      this.lastChangeAt = performance.now();
      if (this.settledAt !== undefined) this.changes.push({ atMs: this.lastChangeAt - this.settledAt, partition: l.partition as number, node: id, msg: l.msg ?? "" });
    };
    if (l.msg === "partition serving") {
      this.owner.set(l.partition, id);
      changed();
    } else if (ENDED.has(l.msg ?? "") && this.owner.get(l.partition) === id) {
      this.owner.delete(l.partition);
      changed();
    }
  }
}
