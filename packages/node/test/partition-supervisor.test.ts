import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient } from "@nats-io/jetstream";
import { PartitionSupervisor } from "../src/partition-supervisor.js";
import { PartitionLeases } from "../src/lease.js";
import { createMetrics } from "../src/metrics.js";
import { createLogger } from "../src/logger.js";
import { SnapshotGate } from "../src/partition/snapshot-gate.js";
import { JsAckPublisher } from "../src/partition/ack-publisher.js";
import { nullObserver, type PartitionDeps, type PartitionTuning } from "../src/partition/deps.js";
import type { ClusterHandles } from "../src/provision.js";
import { provisionForTest } from "./support/provisioned.js";
import { consumersThatGiveUp } from "./support/giving-up-consumers.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";
import { PreparingPartitions, type ReleaseReply } from "../src/handoff-request.js";

const P = 4;
const tuning: PartitionTuning = {
  partitions: P, batchEventsMax: 100, flushMsInterval: 2, publishMsTimeout: 2000, publishAttemptsMax: 5,
  snapshotCommandsEvery: 10, snapshotMsEvery: 1000, backlogEventsMax: 10_000, engine: {}, testSwitches: {},
};
const limits = { partitionRestartsMax: 2, restartMsBackoffBase: 10, restartMsBackoffMax: 200 };

let server: NatsServerHandle;
let nc: NatsConnection;
let handles: ClusterHandles;

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  handles = await provisionForTest(nc, P);
});

test.after(async () => {
  await nc?.close();
  await server?.dispose();
});

const log = createLogger({ id: "sup-test" }, { level: "silent" });

function deps(js: JetStreamClient): PartitionDeps {
  return { nc, js, jsm: handles.jsm, snapshots: handles.snapshots, log, observer: nullObserver, nodeId: "sup-test", snapshotGate: new SnapshotGate(), acks: new JsAckPublisher(nc) };
}

test("failures of loops that served a while are not consecutive: the supervisor keeps restarting and never gives up", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const leases = new PartitionLeases({ kv: handles.kvLeases, id: "sup-test" });
  const alerts: string[] = [];
  // Each loop serves for twice the longest backoff, then its consumer gives up.
  const d = deps(consumersThatGiveUp(handles.js, 2 * limits.restartMsBackoffMax));
  const s = new PartitionSupervisor(1, d, tuning, leases, limits, metrics, log, (m) => alerts.push(m));
  const restarts = async () => (await metrics.partitionRestarts.get()).values[0]?.value ?? 0;
  const end = Date.now() + 15_000;
  while ((await restarts()) < 2 * limits.partitionRestartsMax + 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok((await restarts()) > limits.partitionRestartsMax, `restarted ${await restarts()} times`);
  assert.equal(alerts, [], "no give-up alert");
  assert.is.not(s.endReason, "gave_up");
  await s.stop(false);
});

test("loops that fail before serving are consecutive failures: after partitionRestartsMax the lease is released and an alert published", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const leases = new PartitionLeases({ kv: handles.kvLeases, id: "sup-test" });
  const alerts: string[] = [];
  // Consumers that cannot even be created: every loop fails while recovering.
  const broken = new Proxy(handles.js, {
    get(target, prop, receiver) {
      if (prop === "consumers") return { get: () => Promise.reject(new Error("test: no consumer")) };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const d = deps(broken);
  const s = new PartitionSupervisor(2, d, tuning, leases, limits, metrics, log, (m) => alerts.push(m));
  await s.done;
  assert.is(s.endReason, "gave_up");
  assert.is(alerts.length, 1);
  assert.match(alerts[0]!, /gave up after 2 failures/);
  assert.is(await leases.holder(2), undefined, "lease released");
});

test("a live holder is asked only once the successor has prepared; 'not yet' is asked again; after the release the lease is taken and the partition served", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const old = new PartitionLeases({ kv: handles.kvLeases, id: "old-owner" });
  const mine = new PartitionLeases({ kv: handles.kvLeases, id: "successor" });
  const oldEpoch = await old.acquire(3);
  const preparing = new PreparingPartitions();
  const asked: { at: number; preparing: number }[] = [];
  let supervisor: PartitionSupervisor | undefined;
  const ask = async (holder: string, p: number): Promise<ReleaseReply | null> => {
    assert.is(holder, "old-owner");
    assert.is(p, 3);
    asked.push({ at: performance.now(), preparing: preparing.preparing });
    assert.is(supervisor?.health().serving, false, "not serving before the release");
    if (asked.length === 1) return { released: false, reason: "partition 3 is still assigned to old-owner" };
    await old.release(3, oldEpoch);
    return { released: true, lastInSeq: 0 };
  };
  const s = new PartitionSupervisor(3, deps(handles.js), tuning, mine, limits, metrics, log, () => {}, (m) => m === "old-owner", { ask, preparing });
  supervisor = s;
  const end = Date.now() + 10_000;
  while (s.health().serving !== true && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.ok(s.health().serving, "served after the release");
  assert.is(asked.length, 2, "asked again after 'not yet'");
  assert.ok(asked.every((a) => a.preparing === 0), "asked only with nothing preparing");
  assert.is(await mine.holder(3), "successor");
  await s.stop(true);
  await Promise.all([old.stop(), mine.stop()]);
});

test("lease reads that fail (JetStream unreachable) are retried with backoff and never make it give up; once they work the partition is served", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  let failing = true;
  let reads = 0;
  const kv = new Proxy(handles.kvLeases, {
    get(target, prop, receiver) {
      if (prop === "get") return (k: string) => (reads++, failing ? Promise.reject(new Error("test: timeout")) : target.get(k));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const leases = new PartitionLeases({ kv, id: "sup-test" });
  const alerts: string[] = [];
  const s = new PartitionSupervisor(0, deps(handles.js), tuning, leases, limits, metrics, log, (m) => alerts.push(m));
  const end = Date.now() + 10_000;
  while (reads < 3 * limits.partitionRestartsMax && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.ok(reads >= 3 * limits.partitionRestartsMax, `retried (${reads} reads)`);
  assert.is.not(s.endReason, "gave_up");
  assert.equal(alerts, []);
  failing = false;
  while (s.health().serving !== true && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.ok(s.health().serving, "served once the reads work");
  await s.stop(true);
  await leases.stop();
});

test.run();
