/**
 * The processes of one simulation: one nats-server or a 3-server JetStream
 * cluster, and N `bourse node` processes, all real, on free ports, stopped by
 * pid. Follows the nodes' logs to know, at every moment, which node serves
 * which partition (the "partition serving" line) and when it started to.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectionOptions } from "@nats-io/transport-node";
import { NodeProcess, startNatsCluster, startNatsServer, type LogLine, type NatsServerHandle } from "@bourse/node/local";
import { SimError } from "./errors.js";

export type NodeState = "up" | "crashed" | "paused" | "stopped" | "starting";

export interface SimNode {
  readonly index: number;
  readonly id: string;
  proc: NodeProcess | undefined;
  state: NodeState;
}

export interface ServingEvent {
  partition: number;
  node: string;
  /** Epoch ms, from the node's log line. */
  at: number;
}

export interface SimClusterOptions {
  nodes: number;
  partitions: number;
  /** 1 = one nats-server, 3 = a 3-server JetStream cluster (streams at 3 replicas). */
  natsServers: 1 | 3;
  /** Where node logs are written. */
  workDir: string;
  /** Extra `bourse node` flags (test switches, snapshot tuning). */
  nodeArgs: readonly string[];
  /** Connect to this NATS instead of starting one (no NATS faults then). */
  natsUrl?: string;
  /** Servers started by the caller (e.g. the deploy/nats cluster), which faults may kill and restart; the caller disposes them. */
  external?: ExternalNats;
}

/** A NATS cluster the caller runs, with the credentials each side uses. */
export interface ExternalNats {
  url: string;
  servers: NatsServerHandle[];
  /** The nodes' user (passed as --user, the password through BOURSE_NATS_PASSWORD). */
  nodeAuth?: { user: string; pass: string };
  /** The simulation's own clients (publishers, probes, checker): they need every subject. */
  clientAuth?: { user: string; pass: string };
}

const SERVING_MS_TIMEOUT = 60_000;
const NODE_START_ATTEMPTS = 5;
const NODE_RESTART_MS_DELAY = 1_000;
const POLL_MS = 50;

export class SimCluster {
  readonly nodes: SimNode[];
  readonly servingEvents: ServingEvent[] = [];
  /** Partition → the node that serves it, while it does. */
  private readonly owner = new Map<number, string>();

  private constructor(
    readonly opts: SimClusterOptions,
    readonly nats: NatsServerHandle[],
    readonly url: string,
    private readonly dispose: () => Promise<void>,
  ) {
    this.nodes = Array.from({ length: opts.nodes }, (_, i) => ({ index: i, id: `sim-node-${i + 1}`, proc: undefined, state: "stopped" as NodeState }));
  }

  static async start(opts: SimClusterOptions): Promise<SimCluster> {
    let nats: NatsServerHandle[] = [];
    let url: string;
    let dispose: () => Promise<void>;
    if (opts.external !== undefined) {
      nats = opts.external.servers;
      url = opts.external.url;
      dispose = async () => {};
    } else if (opts.natsUrl !== undefined) {
      url = opts.natsUrl;
      dispose = async () => {};
    } else if (opts.natsServers === 3) {
      const c = await startNatsCluster(3);
      nats = c.servers;
      url = c.urls;
      dispose = () => c.dispose();
    } else {
      const s = await startNatsServer();
      nats = [s];
      url = s.url;
      dispose = () => s.dispose();
    }
    const cluster = new SimCluster(opts, nats, url, dispose);
    try {
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n.index)));
      await cluster.waitAllServing();
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** How the simulation's own clients connect: every server, the client credentials if any, reconnecting forever. */
  clientOptions(name: string): ConnectionOptions {
    const auth = this.opts.external?.clientAuth;
    return { servers: this.url.split(","), name, maxReconnectAttempts: -1, reconnectTimeWait: 250, ...(auth ? { user: auth.user, pass: auth.pass } : {}) };
  }

  get replicas(): number {
    return this.opts.natsServers === 3 || (this.opts.external?.servers.length ?? 0) >= 3 ? 3 : 1;
  }

  /**
   * Starts node i, retrying like a process supervisor (systemd's Restart=on-failure):
   * a node exits when it cannot reach NATS at start, which happens while NATS
   * servers are being killed and restarted.
   */
  async startNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.state = "starting";
    const auth = this.opts.external?.nodeAuth;
    const args = ["--replicas", String(this.replicas), ...(auth ? ["--user", auth.user] : []), ...this.opts.nodeArgs];
    const logFile = join(this.opts.workDir, `${n.id}.log`);
    let last: unknown;
    for (let attempt = 1; attempt <= NODE_START_ATTEMPTS; attempt++) {
      try {
        n.proc = await NodeProcess.start({
          id: n.id,
          nats: this.url,
          partitions: this.opts.partitions,
          args,
          logFile,
          onLine: (l) => this.onLine(n.id, l),
          ...(auth ? { env: { BOURSE_NATS_PASSWORD: auth.pass } } : {}),
        });
        n.state = "up";
        return;
      } catch (e) {
        last = e;
        await sleep(NODE_RESTART_MS_DELAY);
      }
    }
    n.state = "crashed";
    const why = last instanceof Error ? last.message.split("\n")[0] : String(last);
    throw new SimError("node_start_failed", `${n.id} did not start after ${NODE_START_ATTEMPTS} attempts: ${why} (log: ${logFile})`);
  }

  /** kill -9: the node stops at once, without a word. */
  kill(i: number): void {
    const n = this.nodes[i]!;
    n.proc?.kill("SIGCONT");
    n.proc?.kill("SIGKILL");
    n.state = "crashed";
    this.forget(n.id);
  }

  pause(i: number): void {
    this.nodes[i]!.proc?.kill("SIGSTOP");
    this.nodes[i]!.state = "paused";
  }

  resume(i: number): void {
    this.nodes[i]!.proc?.kill("SIGCONT");
    this.nodes[i]!.state = "up";
  }

  /** SIGTERM and wait for the exit: the node hands its partitions off. */
  async terminate(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.state = "stopped";
    await n.proc?.stop();
    this.forget(n.id);
  }

  /** The partitions a node serves now. */
  partitionsOf(nodeId: string): number[] {
    return [...this.owner].filter(([, id]) => id === nodeId).map(([p]) => p);
  }

  /** The first time `p` was (again) served after `since`, by any node. */
  servedAfter(p: number, since: number): ServingEvent | undefined {
    return this.servingEvents.find((e) => e.partition === p && e.at > since);
  }

  /** Waits until every partition is served by a node that is up. */
  async waitAllServing(msTimeout = SERVING_MS_TIMEOUT): Promise<void> {
    const deadline = Date.now() + msTimeout;
    for (;;) {
      const missing = this.unserved();
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new SimError("not_serving", `partitions ${missing.join(", ")} are not served by a running node after ${msTimeout} ms`);
      await sleep(POLL_MS);
    }
  }

  /** Waits until every partition is served and none has changed hands for `quietMs` (rebalancing is over), at most `msTimeout`. */
  async waitSettled(quietMs: number, msTimeout: number): Promise<void> {
    const deadline = Date.now() + msTimeout;
    for (;;) {
      const last = this.servingEvents[this.servingEvents.length - 1]?.at ?? 0;
      if (this.unserved().length === 0 && Date.now() - last >= quietMs) return;
      if (Date.now() > deadline) return;
      await sleep(POLL_MS);
    }
  }

  unserved(): number[] {
    const up = new Set(this.nodes.filter((n) => n.state === "up").map((n) => n.id));
    const out: number[] = [];
    for (let p = 0; p < this.opts.partitions; p++) if (!up.has(this.owner.get(p) ?? "")) out.push(p);
    return out;
  }

  /** Stops every node (SIGTERM, SIGKILL after the grace) and the NATS servers it started. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => {
      await n.proc?.stop();
      n.state = "stopped";
    }));
    await this.dispose();
  }

  private forget(nodeId: string): void {
    for (const [p, id] of [...this.owner]) if (id === nodeId) this.owner.delete(p);
  }

  private onLine(nodeId: string, l: LogLine): void {
    if (typeof l.partition !== "number") return;
    const at = typeof l["time"] === "number" ? l["time"] : Date.now();
    if (l.msg === "partition serving") {
      this.owner.set(l.partition, nodeId);
      this.servingEvents.push({ partition: l.partition, node: nodeId, at });
    } else if (ENDED.has(l.msg ?? "") && this.owner.get(l.partition) === nodeId) {
      this.owner.delete(l.partition);
    }
  }
}

/** Lines after which a node no longer serves the partition it names. */
const ENDED = new Set([
  "partition loop ended",
  "lease taken by another node; stopping the partition",
  "partition fenced: another owner wrote its output; stopped",
  "partition released",
]);
