/**
 * The processes of one `bourse bench failover` run: a fresh nats-server (temp store,
 * free port) and N real `bourse node` processes with default settings, all stopped
 * by pid and reaped at exit even on failure (../../local).
 *
 * It follows every node's JSON log: each line is kept with the node that wrote it
 * (the trials' breakdown reads them), and per node the partitions it serves now
 * ("partition serving" after the last table that gave it the partition).
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { NodeProcess, startNatsServer, type LogLine, type NatsServerHandle } from "../../local/index.js";
import { ASSIGNMENT_KEY, KV_LEASES, STREAM_IN, STREAM_OUT, headers, subjects } from "../../protocol.js";
import { FAILOVER_METHOD as M } from "./options.js";

/** A log line with the node (member id) that wrote it; `time` is the node's epoch ms. */
export interface NodeLine extends LogLine {
  nodeId: string;
  time: number;
}

export interface Table {
  owners: string[];
  members: string[];
  revision: number;
}

/** Lines after which a node no longer serves the partition they name. */
const ENDED = new Set([
  "partition loop ended",
  "lease taken by another node; stopping the partition",
  "partition fenced: another owner wrote its output; stopped",
]);

const POLL_MS = 50;

/** When set, every node's log lines are also appended to <dir>/<node id>.log (for post-mortems). */
export const LOG_DIR_ENV = "BOURSE_BENCH_LOG_DIR";

export class BenchCluster {
  /** Every line of every node incarnation, in arrival order. */
  readonly lines: NodeLine[] = [];
  readonly procs = new Map<string, NodeProcess>();
  private readonly serving = new Map<string, Set<number>>();
  private leases: KV | undefined;

  private constructor(
    readonly server: NatsServerHandle,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly ids: readonly string[],
    readonly partitions: number,
  ) {}

  /** Starts the server and the nodes (the first one provisions); resolves once every partition is served by its owner. */
  static async start(nodes: number, partitions: number, progress: (s: string) => void): Promise<BenchCluster> {
    const server = await startNatsServer();
    let c: BenchCluster | undefined;
    try {
      const nc = await connect({ servers: server.url, name: "bench-failover" });
      const ids = Array.from({ length: nodes }, (_, i) => `node-${i + 1}`);
      c = new BenchCluster(server, nc, jetstream(nc), await jetstreamManager(nc), ids, partitions);
      progress(`nats-server ${server.url} (store ${server.storeDir}); starting ${nodes} nodes with ${partitions} partitions`);
      await c.startNode(ids[0]!);
      await Promise.all(ids.slice(1).map((id) => c!.startNode(id)));
      await c.waitBalanced(M.startMsTimeout);
      return c;
    } catch (e) {
      if (c) await c.dispose();
      else await server.dispose();
      throw e;
    }
  }

  async startNode(id: string): Promise<NodeProcess> {
    this.serving.set(id, new Set());
    const logDir = process.env[LOG_DIR_ENV];
    const n = await NodeProcess.start({
      id,
      nats: this.server.url,
      partitions: this.partitions,
      onLine: (l) => this.onLine(id, l),
      ...(logDir ? { logFile: join(logDir, `${id}.log`) } : {}),
    });
    this.procs.set(id, n);
    return n;
  }

  proc(id: string): NodeProcess {
    const n = this.procs.get(id);
    if (!n) throw new Error(`no running node ${id}`);
    return n;
  }

  /** The node is gone (killed or stopped): it serves nothing any more. */
  forget(id: string): void {
    this.procs.delete(id);
    this.serving.set(id, new Set());
  }

  async table(): Promise<Table> {
    this.leases ??= await new Kvm(this.nc).open(KV_LEASES);
    const e = await this.leases.get(ASSIGNMENT_KEY);
    if (!e || e.operation !== "PUT") return { owners: [], members: [], revision: 0 };
    const v = e.json<{ owners: string[]; members: string[] }>();
    return { owners: v.owners, members: v.members, revision: e.revision };
  }

  /**
   * Until the table names every node, each owns ⌊P/N⌋ or ⌈P/N⌉ partitions, each partition's
   * owner serves it (by its log), and every partition's durable output covers its log.
   */
  async waitBalanced(msTimeout: number): Promise<Table> {
    const deadline = Date.now() + msTimeout;
    const lo = Math.floor(this.partitions / this.ids.length);
    const hi = Math.ceil(this.partitions / this.ids.length);
    let why = "";
    for (;;) {
      const t = await this.table();
      why = this.unbalanced(t, lo, hi) ?? (await this.uncovered()) ?? "";
      if (why === "") return t;
      if (Date.now() > deadline) throw new Error(`cluster not balanced after ${msTimeout} ms: ${why}`);
      await sleep(POLL_MS);
    }
  }

  private unbalanced(t: Table, lo: number, hi: number): string | undefined {
    if (t.owners.length !== this.partitions) return "no assignment table yet";
    if ([...t.members].sort().join() !== [...this.ids].sort().join()) return `table members ${t.members.join(",")}`;
    for (const id of this.ids) {
      const n = t.owners.filter((o) => o === id).length;
      if (n < lo || n > hi) return `${id} owns ${n} partitions`;
    }
    for (let p = 0; p < this.partitions; p++) {
      const owner = t.owners[p]!;
      if (!this.procs.has(owner) || !this.serving.get(owner)?.has(p)) return `partition ${p} not yet served by ${owner}`;
    }
    return undefined;
  }

  /** Why some partition's durable output is behind its log, or undefined when none is. */
  async uncovered(): Promise<string | undefined> {
    const behind = await this.partitionsBehind();
    return behind.length === 0 ? undefined : `output behind the log in partitions ${behind.slice(0, 8).join(", ")}${behind.length > 8 ? ", …" : ""}`;
  }

  /** Partitions whose last logged command is after the last input sequence their durable output covers. */
  async partitionsBehind(): Promise<number[]> {
    const all = Array.from({ length: this.partitions }, (_, p) => p);
    const behind = await Promise.all(
      all.map(async (p) => {
        // Output first: what is durable was logged before it.
        const out = await this.jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) }).catch(() => null);
        const last = await this.jsm.streams.getMessage(STREAM_IN, { last_by_subj: subjects.inPartition(p) }).catch(() => null);
        const durable = out ? Number(out.header.get(headers.lastInSeq)) : 0;
        return (last?.seq ?? 0) > durable;
      }),
    );
    return all.filter((p) => behind[p]);
  }

  /** Stops every node (SIGTERM, SIGKILL after 5 s), the connection and the server; removes its store. Idempotent. */
  async dispose(): Promise<void> {
    await Promise.allSettled([...this.procs.values()].map((n) => n.stop()));
    this.procs.clear();
    await this.nc.close().catch(() => {});
    await this.server.dispose();
  }

  private onLine(id: string, l: LogLine): void {
    const line = l as NodeLine;
    line.nodeId = id;
    if (typeof line.time !== "number") line.time = Date.now();
    this.lines.push(line);
    const s = this.serving.get(id);
    if (!s) return;
    if (l.msg === "assignment applied") {
      const owned = new Set((l["owned"] as number[] | undefined) ?? []);
      for (const p of [...s]) if (!owned.has(p)) s.delete(p);
    } else if (typeof l.partition === "number") {
      if (l.msg === "partition serving") s.add(l.partition);
      else if (ENDED.has(l.msg ?? "")) s.delete(l.partition);
    }
  }
}
