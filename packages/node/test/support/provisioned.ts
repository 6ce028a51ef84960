import type { NatsConnection } from "@nats-io/transport-node";
import { resolveConfig } from "../../src/config.js";
import { provision, type ClusterHandles } from "../../src/provision.js";

/** The streams, buckets and snapshot store exactly as a node creates them, for tests that run without one. */
export function provisionForTest(nc: NatsConnection, partitions: number): Promise<ClusterHandles> {
  return provision(nc, resolveConfig({ id: "test", partitions }));
}
