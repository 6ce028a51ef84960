import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { SnapshotReadError, SnapshotReader, saveSnapshot, snapshotName } from "../src/partition/snapshot-store.js";
import { OBJ_SNAPSHOTS } from "../src/protocol.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";
import { provisionForTest } from "./support/provisioned.js";

let server: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let store: ObjectStore;

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  store = (await provisionForTest(nc, 4)).snapshots;
});

test.after(async () => {
  await nc?.close();
  await server?.dispose();
});

/** Seeded bytes, so a chunk boundary or an offset error cannot go unnoticed. */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

test("reads back what saveSnapshot stored: several chunks, the recorded positions, the newest of replaced ones", async () => {
  const reader = new SnapshotReader(jsm);
  assert.is(await reader.info(0), null, "no snapshot yet");
  assert.is(await reader.load(0), null);
  const big = bytes(300_000, 7); // 3 chunks of the store's 128 KiB
  await saveSnapshot(store, 0, big, { partition: 0, seq: 40, lastInSeq: 17 });
  await saveSnapshot(store, 1, bytes(10, 3), { partition: 1, seq: 2, lastInSeq: 1 });
  const info = await reader.info(0);
  assert.ok(info);
  assert.is(info.chunks, 3);
  assert.is(info.size, 300_000);
  assert.is(info.seq, 40);
  assert.is(info.lastInSeq, 17);
  const got = await reader.load(0, info);
  assert.ok(got);
  assert.ok(Buffer.from(got.bytes).equals(Buffer.from(big)));

  const newer = bytes(200_000, 9);
  await saveSnapshot(store, 0, newer, { partition: 0, seq: 90, lastInSeq: 33 });
  // The first meta entry's chunks are purged by the replace: the reader follows to the newer one.
  const again = await reader.load(0, info);
  assert.ok(again);
  assert.is(again.info.lastInSeq, 33);
  assert.ok(Buffer.from(again.bytes).equals(Buffer.from(newer)));
  assert.ok(Buffer.from((await reader.load(1))!.bytes).equals(Buffer.from(bytes(10, 3))));

  await store.delete(snapshotName(1));
  assert.is(await reader.info(1), null, "a deleted snapshot reads as none");
});

test("a meta entry whose digest does not match the chunks is a SnapshotReadError, not bad state", async () => {
  const reader = new SnapshotReader(jsm);
  await saveSnapshot(store, 2, bytes(1_000, 5), { partition: 2, seq: 4, lastInSeq: 3 });
  const info = (await reader.info(2))!;
  const forged = { ...info, sha256: createHash("sha256").update("something else").digest() };
  try {
    await reader.load(2, forged);
    assert.unreachable("read a snapshot whose digest does not match");
  } catch (e) {
    assert.instance(e, SnapshotReadError);
    assert.match((e as Error).message, /SHA-256 does not match/);
  }
  // A meta entry without the positions saveSnapshot records (stored by another tool) is refused too.
  await store.putBlob({ name: snapshotName(3) }, bytes(10, 1));
  try {
    await reader.info(3);
    assert.unreachable("accepted a meta entry without seq/lastInSeq");
  } catch (e) {
    assert.instance(e, SnapshotReadError);
    assert.match((e as Error).message, /lacks/);
  }
});

test("direct gets need allow_direct: provisioning turns it on for a store created without it", async () => {
  const info = await jsm.streams.info(`OBJ_${OBJ_SNAPSHOTS}`);
  assert.is(info.config.allow_direct, true);
  await jsm.streams.update(`OBJ_${OBJ_SNAPSHOTS}`, { allow_direct: false });
  await provisionForTest(nc, 4);
  assert.is((await jsm.streams.info(`OBJ_${OBJ_SNAPSHOTS}`)).config.allow_direct, true);
});

test.run();
