import { connect, type NatsConnection } from "@nats-io/transport-node";
import { resolveConfig } from "../../config.js";
import { startNatsServer, type NatsServerHandle } from "../../local/nats-server.js";
import { provision, type ClusterHandles } from "../../provision.js";

/** A fresh nats-server (free port, temp store) provisioned as a node would, and one connection to it. */
export interface BenchNats {
  server: NatsServerHandle;
  nc: NatsConnection;
  handles: ClusterHandles;
  /** Closes the connection, stops the server and removes its store. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Starts the bench's own server (never a shared one): the streams, buckets and
 * snapshot store are created by `provision`, exactly as the first node creates them.
 */
export async function startBenchNats(partitions: number): Promise<BenchNats> {
  const server = await startNatsServer();
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: server.url, name: "bourse-bench" });
    const handles = await provision(nc, resolveConfig({ id: "bench", partitions, servers: [server.url] }));
    let disposed = false;
    const conn = nc;
    return {
      server,
      nc: conn,
      handles,
      async dispose() {
        if (disposed) return;
        disposed = true;
        await conn.close().catch(() => {});
        await server.dispose();
      },
    };
  } catch (e) {
    await nc?.close().catch(() => {});
    await server.dispose();
    throw e;
  }
}
