import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { DiscardPolicy, StorageType, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { resolveConfig, type NodeConfigInput } from "../src/config.js";
import { ClusterConfigMismatchError, ProvisionError, provision, readClusterConfig, subjectCovers } from "../src/provision.js";
import { KV_CLUSTER, KV_LEASES, KV_MEMBERS, OBJ_SNAPSHOTS, STREAM_DLQ, STREAM_IN, STREAM_OUT, subjects } from "../src/protocol.js";
import { startNatsCluster, startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";

const ALL_STREAMS = [STREAM_IN, STREAM_OUT, STREAM_DLQ, `KV_${KV_MEMBERS}`, `KV_${KV_LEASES}`, `KV_${KV_CLUSTER}`, `OBJ_${OBJ_SNAPSHOTS}`];

const cfg = (o: NodeConfigInput = {}) => resolveConfig({ production: true, ...o });

async function withServer(fn: (s: NatsServerHandle, nc: NatsConnection, jsm: JetStreamManager) => Promise<void>): Promise<void> {
  const server = await startNatsServer();
  try {
    const nc = await connect({ servers: server.url, reconnect: false });
    try {
      await fn(server, nc, await jetstreamManager(nc));
    } finally {
      await nc.close();
    }
  } finally {
    await server.dispose();
  }
}

test("provision creates streams, buckets and the object store as specified, and is idempotent", async () => {
  await withServer(async (_s, nc, jsm) => {
    const first = await provision(nc, cfg());
    assert.is(first.clusterConfig.partitions, 64);
    assert.ok(!Number.isNaN(Date.parse(first.clusterConfig.createdAt)));
    assert.equal(first.warnings, []);

    const inCfg = (await jsm.streams.info(STREAM_IN)).config;
    assert.equal(inCfg.subjects, [subjects.inAll]);
    assert.is(inCfg.storage, StorageType.File);
    assert.is(inCfg.discard, DiscardPolicy.Old);
    assert.is(inCfg.duplicate_window, nanos(120_000));
    assert.is(inCfg.max_age, 0);
    assert.is(inCfg.num_replicas, 1);
    assert.equal((await jsm.streams.info(STREAM_OUT)).config.subjects, [subjects.outAll]);
    assert.equal((await jsm.streams.info(STREAM_DLQ)).config.subjects, [subjects.dlqAll]);

    const members = (await jsm.streams.info(`KV_${KV_MEMBERS}`)).config;
    assert.is(members.max_age, nanos(6_000), "10 × failureMsTimeout (600 ms), at least 5 s");
    assert.is(members.max_msgs_per_subject, 1);
    assert.is((await jsm.streams.info(`KV_${KV_LEASES}`)).config.max_age, 0);

    // The handles work.
    await first.kvLeases.put("p0", "n1");
    assert.is((await first.kvLeases.get("p0"))?.string(), "n1");
    await first.snapshots.putBlob({ name: "p0" }, new Uint8Array([1, 2, 3]));
    assert.equal(Array.from((await first.snapshots.getBlob("p0")) ?? []), [1, 2, 3]);
    await first.js.publish(subjects.in(0, "SKU1", "acct"), "x", { msgID: "c1" });

    const infoBefore = await Promise.all(ALL_STREAMS.map((n) => jsm.streams.info(n)));
    const second = await provision(nc, cfg());
    assert.equal(second.clusterConfig, first.clusterConfig);
    assert.equal(second.warnings, []);
    const infoAfter = await Promise.all(ALL_STREAMS.map((n) => jsm.streams.info(n)));
    assert.equal(
      infoAfter.map((i) => [i.created, i.state.messages]),
      infoBefore.map((i) => [i.created, i.state.messages]),
      "nothing recreated, nothing lost",
    );
    assert.is((await readClusterConfig(nc)).partitions, 64);
  });
});

test("concurrent provisioning from several connections all succeed and agree", async () => {
  await withServer(async (s) => {
    const conns = await Promise.all(Array.from({ length: 4 }, () => connect({ servers: s.url, reconnect: false })));
    try {
      const handles = await Promise.all(conns.map((nc) => provision(nc, cfg({ partitions: 32 }))));
      const created = new Set(handles.map((h) => h.clusterConfig.createdAt));
      assert.is(created.size, 1, "one node's config won");
      for (const h of handles) assert.is(h.clusterConfig.partitions, 32);
    } finally {
      await Promise.all(conns.map((nc) => nc.close()));
    }
  });
});

test("a node with another partition count is refused with a message that says what to do", async () => {
  await withServer(async (_s, nc) => {
    await provision(nc, cfg({ partitions: 64 }));
    try {
      await provision(nc, cfg({ partitions: 32 }));
      assert.unreachable("provisioned with a mismatched partition count");
    } catch (e) {
      assert.instance(e, ClusterConfigMismatchError);
      const err = e as ClusterConfigMismatchError;
      assert.is(err.message, "this node was started with --partitions 32 but the cluster was created with 64; use --partitions 64");
      assert.is(err.code, "cluster_config_mismatch");
      assert.is(err.name, "ClusterConfigMismatchError");
      assert.is(err.configured, 32);
      assert.is(err.cluster.partitions, 64);
    }
  });
});

test("safe differences are updated, unsafe ones reported; reading an unprovisioned cluster is a typed error", async () => {
  await withServer(async (_s, nc, jsm) => {
    try {
      await readClusterConfig(nc);
      assert.unreachable("read a config that does not exist");
    } catch (e) {
      assert.instance(e, ProvisionError);
      assert.is((e as ProvisionError).code, "cluster_not_provisioned");
    }
    // An older deployment: memory storage, a short dedup window, a subject too few.
    await jsm.streams.add({ name: STREAM_DLQ, subjects: ["bourse.dlq.0"], storage: StorageType.Memory, duplicate_window: nanos(10_000) });
    const h = await provision(nc, cfg({ duplicateMsWindow: 60_000, failureMsTimeout: 1_000 }));
    const dlq = (await jsm.streams.info(STREAM_DLQ)).config;
    assert.equal(dlq.subjects, [subjects.dlqAll], "the wildcard replaces the subject it covers (the server refuses overlaps)");
    assert.is(dlq.duplicate_window, nanos(60_000));
    assert.is(dlq.storage, StorageType.Memory, "storage is never changed");
    assert.is(h.warnings.length, 1);
    assert.match(h.warnings[0]!, /^BOURSE_DLQ: storage is memory but this node is configured for file/);

    await provision(nc, cfg({ duplicateMsWindow: 90_000, failureMsTimeout: 2_000 }));
    assert.is((await jsm.streams.info(STREAM_IN)).config.duplicate_window, nanos(90_000));
    assert.is((await jsm.streams.info(`KV_${KV_MEMBERS}`)).config.max_age, nanos(20_000));
    // A shorter member TTL also shortens the bucket's de-duplication window, which may not exceed it.
    await provision(nc, cfg({ duplicateMsWindow: 90_000, failureMsTimeout: 600 }));
    const members = (await jsm.streams.info(`KV_${KV_MEMBERS}`)).config;
    assert.is(members.max_age, nanos(6_000));
    assert.ok(members.duplicate_window <= members.max_age);
  });
});

test("subject coverage, for widening a stream's subjects", () => {
  assert.ok(subjectCovers("bourse.dlq.>", "bourse.dlq.0"));
  assert.ok(subjectCovers("bourse.dlq.>", "bourse.dlq.*.x"));
  assert.ok(subjectCovers("bourse.>", "bourse.dlq.>"));
  assert.ok(subjectCovers("bourse.*.0", "bourse.dlq.0"));
  assert.ok(subjectCovers("a.b", "a.b"));
  assert.not.ok(subjectCovers("bourse.dlq.>", "bourse.dlq"));
  assert.not.ok(subjectCovers("bourse.*", "bourse.dlq.0"));
  assert.not.ok(subjectCovers("bourse.*.0", "bourse.>"));
  assert.not.ok(subjectCovers("bourse.dlq.0", "bourse.dlq.*"));
  assert.not.ok(subjectCovers("bourse.in.>", "bourse.out.0"));
});

test("JetStream disabled is a typed error naming JetStream", async () => {
  const server = await startNatsServer({ jetstream: false });
  try {
    const nc = await connect({ servers: server.url, reconnect: false });
    try {
      await provision(nc, cfg());
      assert.unreachable("provisioned without JetStream");
    } catch (e) {
      assert.instance(e, ProvisionError);
      assert.is((e as ProvisionError).resource, "JetStream");
      assert.match((e as Error).message, /JetStream/);
    } finally {
      await nc.close();
    }
  } finally {
    await server.dispose();
  }
});

test("replicas 3 on a 3-server cluster: every resource is R3; nodes on different servers race safely", async () => {
  const cluster = await startNatsCluster(3);
  const conns: NatsConnection[] = [];
  try {
    for (const url of cluster.serverUrls) conns.push(await connect({ servers: url, reconnect: false }));
    const handles = await Promise.all(conns.map((nc) => provision(nc, cfg({ replicas: 3, partitions: 16 }))));
    assert.is(new Set(handles.map((h) => h.clusterConfig.createdAt)).size, 1);
    for (const h of handles) assert.equal(h.warnings, []);
    const jsm = await jetstreamManager(conns[0]!);
    for (const name of ALL_STREAMS) {
      const info = await jsm.streams.info(name);
      assert.is(info.config.num_replicas, 3, name);
      assert.is(info.cluster?.replicas?.length, 2, `${name} has a leader and two followers`);
    }
    // A node configured for R1 joining this cluster leaves the R3 resources alone and says so.
    const r1 = await provision(conns[1]!, cfg({ replicas: 1, partitions: 16 }));
    assert.is(r1.warnings.length, ALL_STREAMS.length);
    assert.match(r1.warnings[0]!, /num_replicas is 3 but this node is configured for 1/);
    assert.is((await readClusterConfig(conns[2]!)).partitions, 16);
  } finally {
    await Promise.all(conns.map((nc) => nc.close()));
    await cluster.dispose();
  }
});

test.run();
