/**
 * Real nats-server processes for integration tests: one server or a JetStream
 * cluster, on OS-chosen ports on 127.0.0.1, storing in fresh temp dirs. Never
 * touches a server it did not start (in particular not one on :4222). Every
 * process and dir is reaped at exit even without dispose() (./reaper.ts).
 *
 * Route ports cannot be "-1": JetStream clustering needs routes configured at
 * start (2.9 exits with "JetStream cluster requires configured routes"), so they
 * are reserved by binding :0 and closing just before the start, and the start is
 * retried on a clash.
 */
import { createServer, type AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { FIXTURE_LIMITS, NatsFixtureError, ServerProcess, httpOk, type NatsServerHandle, type NatsServerOptions } from "./nats-process.js";

export { FIXTURE_LIMITS, NatsFixtureError } from "./nats-process.js";
export type { NatsFixtureErrorCode, NatsServerHandle, NatsServerOptions } from "./nats-process.js";

export interface NatsClusterHandle {
  readonly servers: NatsServerHandle[];
  /** Client URLs joined with commas. */
  readonly urls: string;
  readonly serverUrls: string[];
  readonly name: string;
  /** Wait until every running member sees the same JetStream meta leader; returns its server name. */
  waitForMetaLeader(): Promise<string>;
  dispose(): Promise<void>;
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const server = await ServerProcess.create({ ...opts, jetstream: opts.jetstream ?? true });
  try {
    await server.start("healthy");
  } catch (e) {
    await server.dispose();
    throw e;
  }
  return server;
}

export async function startNatsCluster(n = 3, opts: Omit<NatsServerOptions, "jetstream"> = {}): Promise<NatsClusterHandle> {
  return startClusterRetrying(n, async (routePorts) => {
    const name = `bourse-test-${process.pid}-${routePorts[0]}`;
    const servers = await Promise.all(
      routePorts.map((port, i) =>
        ServerProcess.create({ ...opts, jetstream: true, serverName: `n${i + 1}`, cluster: { name, port, routePorts } }),
      ),
    );
    return new Cluster(name, servers);
  });
}

/**
 * Reserves `n` route ports, builds a cluster on them, starts its members and waits for
 * a JetStream meta leader; on a port clash (a reserved port taken meanwhile) starts over
 * with new ports, up to FIXTURE_LIMITS.clusterStartAttemptsMax. Exported for ./deploy-cluster.ts.
 */
export async function startClusterRetrying<C extends Cluster>(n: number, build: (routePorts: number[]) => Promise<C>): Promise<C> {
  for (let attempt = 1; ; attempt++) {
    const cluster = await build(await reservePorts(n));
    try {
      // Members only listen at first: none is healthy until a quorum elects a meta leader.
      await Promise.all(cluster.servers.map((s) => s.start("listening")));
      await cluster.waitForMetaLeader();
      return cluster;
    } catch (e) {
      await cluster.dispose();
      const clash = e instanceof NatsFixtureError && e.log.includes("address already in use");
      if (!clash || attempt >= FIXTURE_LIMITS.clusterStartAttemptsMax) throw e;
    }
  }
}

/** The members of a cluster started here; exported for ./deploy-cluster.ts. */
export class Cluster implements NatsClusterHandle {
  constructor(
    readonly name: string,
    readonly servers: ServerProcess[],
  ) {}

  get serverUrls(): string[] {
    return this.servers.map((s) => s.url);
  }
  get urls(): string {
    return this.serverUrls.join(",");
  }

  async waitForMetaLeader(): Promise<string> {
    const deadline = Date.now() + FIXTURE_LIMITS.clusterMsTimeout;
    for (;;) {
      const leader = await this.agreedLeader();
      if (leader) return leader;
      if (Date.now() > deadline) {
        const logs = this.servers.map((s) => `[${s.serverName}]\n${s.logs()}`).join("\n");
        throw new NatsFixtureError("cluster_timeout", `no JetStream meta leader after ${FIXTURE_LIMITS.clusterMsTimeout} ms`, logs);
      }
      await sleep(FIXTURE_LIMITS.pollMsInterval * 4);
    }
  }

  /** The leader every running member names, once each is healthy and the leader sees all peers current. */
  private async agreedLeader(): Promise<string | undefined> {
    const running = this.servers.filter((s) => s.running && s.url);
    const views = await Promise.all(running.map((s) => jsz(s.monitorUrl)));
    const healthy = await Promise.all(running.map((s) => httpOk(`${s.monitorUrl}/healthz`)));
    const leader = views[0]?.meta_cluster?.leader;
    if (!leader || !healthy.every(Boolean) || !views.every((v) => v?.meta_cluster?.leader === leader)) return undefined;
    const leaderView = views[running.findIndex((s) => s.serverName === leader)];
    const replicas = leaderView?.meta_cluster?.replicas ?? [];
    const current = replicas.filter((r) => r.current && !r.offline).length;
    return current >= running.length - 1 ? leader : undefined;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.dispose()));
  }
}

interface Jsz {
  meta_cluster?: { leader?: string; replicas?: { name: string; current?: boolean; offline?: boolean }[] };
}

async function jsz(monitorUrl: string): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(FIXTURE_LIMITS.httpMsTimeout) });
    return res.ok ? ((await res.json()) as Jsz) : undefined;
  } catch {
    return undefined;
  }
}

/** Free ports for routes: all held open at once so they are distinct, then released. */
export async function reservePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const s = createServer();
      return new Promise<typeof s>((resolve, reject) => s.once("error", reject).listen(0, "127.0.0.1", () => resolve(s)));
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
