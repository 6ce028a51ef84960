/**
 * One real nats-server and N real `bourse node` processes, for tests of the
 * publisher client (and anything else) against the real thing. Nodes are the
 * built CLI (`bourse node`), started and signalled by pid (./node-process.ts);
 * the server and every node are reaped at exit even if dispose() never runs
 * (./reaper.ts).
 *
 * Besides start/stop it knows how to read the cluster the way a test needs:
 * the agreed assignment table, "every partition served by its owner", the
 * durable output (BOURSE_OUT) of one account, and how to create a market
 * (a `market` command from the admin account, published to BOURSE_IN).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { decodeEvents, encodeCommand, encodeValue, type EngineEvent, type MarketSpec } from "@bourse/engine";
import { concerns } from "../../src/client/wire.js";
import { partitionOf } from "../../src/partitioning.js";
import { ASSIGNMENT_KEY, KV_LEASES, STREAM_IN, STREAM_OUT, headers, subjects } from "../../src/protocol.js";
import { readStream } from "../../src/verify/durable-log.js";
import { startNatsServer, type NatsServerHandle } from "../../src/local/nats-server.js";
import { NodeProcess } from "../../src/local/node-process.js";

export const ADMIN_ACCOUNT = "admin";

/** Tick 1, lot 1, 1..1000 lots, reference price 1000 with a ±20 % band (800..1200). */
export const TEST_MARKET_SPEC: Omit<MarketSpec, "symbol"> = { tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1_000, refPrice: 1_000, bandBps: 2_000, state: "open" };

export interface RealClusterOptions {
  /** Member ids of the nodes to start. */
  nodes: string[];
  partitions: number;
  /** Extra `bourse node` flags for every node. */
  args?: string[];
}

/** An event of BOURSE_OUT with the stream sequence of its batch. */
export interface DurableEvent {
  streamSeq: number;
  event: EngineEvent;
}

interface Table {
  owners: string[];
  members: string[];
}

export class RealCluster {
  readonly nodes = new Map<string, NodeProcess>();
  /** Nodes killed or stopped, kept for their logs. */
  readonly gone: NodeProcess[] = [];
  private marketSeq = 0;

  private constructor(
    readonly server: NatsServerHandle,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly partitions: number,
    private readonly args: string[],
  ) {}

  /** Starts the server and the nodes; resolves once every partition is served by its agreed owner. */
  static async start(opts: RealClusterOptions): Promise<RealCluster> {
    const server = await startNatsServer();
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({ servers: server.url, name: "real-cluster-test" });
      const c = new RealCluster(server, nc, jetstream(nc), await jetstreamManager(nc), opts.partitions, opts.args ?? []);
      try {
        // The first node provisions streams and buckets; the others join it.
        await c.startNode(opts.nodes[0]!);
        await Promise.all(opts.nodes.slice(1).map((id) => c.startNode(id)));
        await c.waitServed();
        return c;
      } catch (e) {
        await c.dispose();
        throw e;
      }
    } catch (e) {
      await nc?.close().catch(() => {});
      await server.dispose();
      throw e;
    }
  }

  get url(): string {
    return this.server.url;
  }

  async startNode(id: string): Promise<NodeProcess> {
    const n = await NodeProcess.start({ id, nats: this.server.url, partitions: this.partitions, args: this.args });
    this.nodes.set(id, n);
    return n;
  }

  node(id: string): NodeProcess {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no running node ${id}`);
    return n;
  }

  /** kill -9: the node is gone (kept for its logs). */
  async kill9(id: string): Promise<void> {
    const n = this.node(id);
    n.kill("SIGKILL");
    await n.waitExit();
    this.nodes.delete(id);
    this.gone.push(n);
  }

  /** The agreed assignment table (bourse_leases/assignment). */
  async table(): Promise<Table> {
    const kv = await new Kvm(this.nc).open(KV_LEASES);
    const e = await kv.get(ASSIGNMENT_KEY);
    if (!e || e.length === 0) return { owners: [], members: [] };
    return e.json() as Table;
  }

  async ownerOf(p: number): Promise<string> {
    return (await this.table()).owners[p]!;
  }

  /**
   * Until the table names exactly the running nodes (plus `also`, e.g. a paused node
   * still a member) and each partition's owner logged "partition serving" for it
   * since it last applied a table without it, and answers queries on bourse.q.<p>.
   */
  async waitServed(ms = 15_000, members: string[] = [...this.nodes.keys()]): Promise<void> {
    await this.until("every partition served by its agreed owner", async () => {
      const t = await this.table();
      if (t.owners.length !== this.partitions || [...t.members].sort().join() !== [...members].sort().join()) return false;
      for (let p = 0; p < this.partitions; p++) {
        const n = this.nodes.get(t.owners[p]!);
        if (!n || !servesSince(n, p)) return false;
      }
      for (let p = 0; p < this.partitions; p++) if (!(await this.answersQueries(p))) return false;
      return true;
    }, ms);
  }

  /**
   * A market symbol (prefix + counter) whose partition satisfies `where` (default any),
   * e.g. "owned by node n1".
   */
  async pickMarket(prefix: string, where: (p: number, owner: string) => boolean = () => true): Promise<string> {
    const t = await this.table();
    for (let i = 0; i < 10_000; i++) {
      const m = `${prefix}${this.marketSeq++}`;
      const p = partitionOf(m, this.partitions);
      if (where(p, t.owners[p]!)) return m;
    }
    throw new Error(`no market name with prefix ${prefix} satisfies the condition`);
  }

  /**
   * Publishes a `market` command from the admin account and waits for its `market` event on
   * bourse.md.<symbol> (sent once durable), so it does not depend on the partition serving queries.
   */
  async createMarket(symbol: string, spec: Partial<Omit<MarketSpec, "symbol">> = {}): Promise<void> {
    const p = partitionOf(symbol, this.partitions);
    const cmdId = `mk-${symbol}`;
    const cmd = { kind: "market" as const, cmdId, account: ADMIN_ACCOUNT, symbol, ...TEST_MARKET_SPEC, ...spec };
    let created = false;
    const sub = this.nc.subscribe(subjects.md(symbol), {
      callback: (_e, m) => {
        if (decodeEvents(m.data).some((e) => e.type === "market" && e.cmdId === cmdId)) created = true;
      },
    });
    try {
      await this.nc.flush();
      await this.js.publish(subjects.in(p, symbol, ADMIN_ACCOUNT), encodeCommand(cmd), { msgID: cmdId });
      await this.until(`market ${symbol} to be created`, () => created);
    } finally {
      sub.unsubscribe();
    }
  }

  /** The node that wrote partition p's last durable output (Bourse-Node), if any. */
  async outputWriter(p: number): Promise<{ node: string; epoch: number; streamSeq: number } | undefined> {
    const m = await this.jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) }).catch(() => null);
    if (!m) return undefined;
    return { node: m.header.get(headers.node), epoch: Number(m.header.get(headers.epoch)), streamSeq: m.seq };
  }

  /** Whether someone answers queries on bourse.q.<p> (the owner subscribes once the partition is serving). */
  async answersQueries(p: number): Promise<boolean> {
    const reply = await this.nc.request(subjects.query(p), encodeValue({ kind: "depth", market: "-probe-", levels: 1 }), { timeout: 1_000 }).catch(() => null);
    return reply !== null;
  }

  /** Every durable output event, in stream order, with its batch's stream sequence. */
  async durable(): Promise<DurableEvent[]> {
    const msgs = await readStream(this.js, STREAM_OUT, subjects.outAll);
    return msgs.flatMap((m) => decodeEvents(m.data).map((event) => ({ streamSeq: m.seq, event })));
  }

  /** The durable events concerning `account` (its own, and trades on either side), in stream order. */
  async durableFor(account: string): Promise<DurableEvent[]> {
    return (await this.durable()).filter((d) => concerns(d.event, account));
  }

  /** Polls `cond` every 50 ms; on timeout writes every node's log to a temp dir and names it. */
  async until(what: string, cond: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; node logs in ${this.dumpLogs()}`);
      await sleep(50);
    }
  }

  /**
   * What the cluster looks like for partition p, for a failure message: each running node's
   * /healthz, the consumers on bourse.in.<p>.> as the server sees them, the last input sequence.
   */
  async describe(p: number): Promise<string> {
    const out: string[] = [];
    for (const n of this.nodes.values()) {
      const h = await fetch(`http://127.0.0.1:${n.httpPort}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.text()).catch((e: unknown) => String(e));
      out.push(`${n.opts.id} /healthz: ${h}`);
    }
    try {
      for await (const ci of this.jsm.consumers.list(STREAM_IN)) {
        const filters = [ci.config.filter_subject, ...(ci.config.filter_subjects ?? [])].filter((f) => f !== undefined);
        if (!filters.some((f) => f.startsWith(`bourse.in.${p}.`))) continue;
        out.push(`consumer ${ci.name}: start ${ci.config.opt_start_seq ?? "-"}, delivered ${JSON.stringify(ci.delivered)}, pending ${ci.num_pending}, waiting ${ci.num_waiting}, created ${ci.created}`);
      }
      const last = await this.jsm.streams.getMessage(STREAM_IN, { last_by_subj: `bourse.in.${p}.>` }).catch(() => null);
      out.push(`last input of partition ${p}: ${last?.seq ?? "none"}`);
      const o = await this.jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) }).catch(() => null);
      const h = (k: string): string => o?.header.get(k) ?? "-";
      out.push(`last output of partition ${p}: stream seq ${o?.seq ?? "none"}, written by ${h(headers.node)} epoch ${h(headers.epoch)}, events to ${h(headers.lastSeq)}, input to ${h(headers.lastInSeq)}, at ${o ? new Date(o.timestamp).toISOString() : "-"}`);
    } catch (e) {
      out.push(`consumers unavailable: ${String(e)}`);
    }
    return out.join("\n");
  }

  /** Writes each node's log (running and gone) to a fresh temp dir; returns its path. */
  dumpLogs(): string {
    const dir = mkdtempSync(join(tmpdir(), "bourse-real-cluster-"));
    for (const n of [...this.nodes.values(), ...this.gone]) writeFileSync(join(dir, `${n.opts.id}-${n.pid}.log`), n.logText());
    writeFileSync(join(dir, "nats-server.log"), this.server.logs());
    return dir;
  }

  /** Stops every node (SIGCONT first, then SIGTERM, SIGKILL after 5 s), the connection and the server. Idempotent. */
  async dispose(): Promise<void> {
    await Promise.allSettled([...this.nodes.values()].map((n) => n.stop()));
    this.nodes.clear();
    await this.nc.close().catch(() => {});
    await this.server.dispose();
  }
}

/** Whether `n` logged "partition serving" for p after the last table it applied without p. */
function servesSince(n: NodeProcess, p: number): boolean {
  let serving = false;
  for (const l of n.lines) {
    if (l.msg === "assignment applied" && !((l["owned"] as number[] | undefined) ?? []).includes(p)) serving = false;
    else if (l.msg === "partition serving" && l.partition === p) serving = true;
    else if (l.msg === "partition loop ended" && l.partition === p) serving = false;
  }
  return serving;
}
