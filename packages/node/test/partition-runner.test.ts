import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { PartitionEngine, decodeEvents, encodeCommand, encodeValue, type AnyCommand, type EngineEvent } from "@bourse/engine";
import { PartitionRunner } from "../src/partition/partition-runner.js";
import { SnapshotReader, saveSnapshot } from "../src/partition/snapshot-store.js";
import { RollbackSpill } from "../src/partition/rollback-spill.js";
import { SnapshotGate } from "../src/partition/snapshot-gate.js";
import { JsAckPublisher } from "../src/partition/ack-publisher.js";
import { AGE_INTERVALS_MAX, LOG_STRETCH_MAX, UNITS_PER_REPLAYED_COMMAND } from "../src/partition/snapshot-schedule.js";
import { nullObserver, type Log, type PartitionDeps, type PartitionTuning } from "../src/partition/deps.js";
import { partitionOf } from "../src/partitioning.js";
import { STREAM_OUT, subjects } from "../src/protocol.js";
import { provisionForTest } from "./support/provisioned.js";
import { consumersThatGiveUp } from "./support/giving-up-consumers.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";

const P = 4;
const MARKET = "SKU-1";
const p = partitionOf(MARKET, P);

const quiet: Log = process.env.DEBUG_TEST ? { debug: console.log, info: console.log, warn: console.log, error: console.log, child: () => quiet } : { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const tuning: PartitionTuning = {
  partitions: P, batchEventsMax: 100, flushMsInterval: 2, publishMsTimeout: 2000, publishAttemptsMax: 5,
  snapshotCommandsEvery: 10, snapshotMsEvery: 1000, backlogEventsMax: 10_000, engine: {}, testSwitches: {},
};

let server: NatsServerHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let deps: PartitionDeps;

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  const { snapshots } = await provisionForTest(nc, P);
  deps = { nc, js, jsm, snapshots, log: quiet, observer: nullObserver, nodeId: "test-node", snapshotGate: new SnapshotGate(), acks: new JsAckPublisher(nc) };
});

test.after(async () => {
  await nc?.close();
  await server?.dispose();
});

async function send(cmd: AnyCommand & { account: string }, msgID = cmd.cmdId): Promise<number> {
  const ack = await js.publish(subjects.in(p, MARKET, cmd.account), encodeCommand(cmd), { msgID });
  return ack.seq;
}

async function output(): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  const info = await jsm.streams.info(STREAM_OUT);
  for (let s = 1; s <= info.state.last_seq; s++) {
    const m = await jsm.streams.getMessage(STREAM_OUT, { seq: s });
    if (m && m.subject === subjects.out(p)) out.push(...decodeEvents(m.data));
  }
  return out;
}

async function until(cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("commands flow from the log through the engine to durable, gap-free output; a restart resumes without duplicates", async () => {
  await send({ kind: "market", cmdId: "m1", account: "admin", symbol: MARKET, tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1000, refPrice: 100, bandBps: 5000, state: "open" });
  for (let i = 0; i < 30; i++) {
    await send({ kind: "place", cmdId: `b${i}`, account: "alice", market: MARKET, side: "buy", type: "limit", price: 100, qty: 1, tif: "GTC" });
  }
  const r1 = new PartitionRunner(p, deps, tuning, 1);
  const run1 = r1.run();
  await until(async () => (await output()).some((e) => e.type === "accepted" && e.cmdId === "b29"));
  await r1.stop(true);
  await run1;
  for (let i = 0; i < 10; i++) {
    await send({ kind: "place", cmdId: `s${i}`, account: "bob", market: MARKET, side: "sell", type: "limit", price: 100, qty: 2, tif: "GTC" });
  }
  // A retry that JetStream's duplicate window would drop; here with another msg id, so the engine must catch it.
  await send({ kind: "place", cmdId: "b0", account: "alice", market: MARKET, side: "buy", type: "limit", price: 100, qty: 1, tif: "GTC" }, "b0-late-retry");
  const r2 = new PartitionRunner(p, deps, tuning, 2);
  const run2 = r2.run();
  await until(async () => (await output()).some((e) => e.type === "duplicate"));
  const out = await output();
  out.forEach((e, i) => assert.is(e.seq, i + 1, "gap-free, no duplicates"));
  assert.is(out.filter((e) => e.type === "trade").length, 20);
  await r2.stop(false);
  await run2;
});

test("a former owner is fenced: its output is refused once another owner has written", async () => {
  const old = new PartitionRunner(p, deps, tuning, 10);
  const oldRun = old.run();
  oldRun.catch(() => {});
  await until(() => old.state === "serving");
  const fresh = new PartitionRunner(p, deps, tuning, 11);
  const freshRun = fresh.run();
  freshRun.catch(() => {});
  await until(() => fresh.state === "serving");
  await send({ kind: "place", cmdId: "f1", account: "carol", market: MARKET, side: "buy", type: "limit", price: 99, qty: 1, tif: "GTC" });
  await until(() => old.state === "failed" || fresh.state === "failed");
  const loser = old.state === "failed" ? oldRun : freshRun;
  const err = await loser.then(() => null, (e: Error) => e);
  assert.is(err?.name, "FencedError");
  await fresh.stop(false);
  await old.stop(false);
  await Promise.allSettled([oldRun, freshRun]);
  const out = await output();
  out.forEach((e, i) => assert.is(e.seq, i + 1, "still gap-free and duplicate-free"));
});

test("a routine snapshot waits for the node's snapshot gate while commands keep flowing; a handoff neither waits for the gate nor lets the queued one run", async () => {
  const gate = new SnapshotGate();
  const gated: PartitionDeps = { ...deps, snapshotGate: gate };
  const everyFew: PartitionTuning = { ...tuning, snapshotCommandsEvery: 3, snapshotMsEvery: 3_600_000 };
  const reader = new SnapshotReader(jsm);
  const before = (await reader.info(p))?.nuid;
  let release!: () => void;
  const held = gate.run(() => new Promise<void>((r) => (release = r)));
  const r = new PartitionRunner(p, gated, everyFew, 60);
  const running = r.run();
  await until(() => r.state === "serving");
  let last = 0;
  for (let i = 0; i < 4; i++) last = await send({ kind: "place", cmdId: `g${i}`, account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
  await until(() => r.lastInSeq === last);
  await until(async () => (await output()).some((e) => e.type === "accepted" && e.cmdId === "g3"));
  assert.is(gate.queued, 1, "the snapshot due after 3 commands waits for its turn");
  assert.is((await reader.info(p))?.nuid, before, "nothing stored while the gate is held");
  release();
  await held;
  await until(async () => (await reader.info(p))?.lastInSeq === last);

  // Stopping with a routine snapshot queued: the handoff stores its own without waiting for
  // the gate (other partitions' encodings may be queued ahead), and the queued one is dropped.
  const held2 = gate.run(() => new Promise<void>((r2) => (release = r2)));
  for (let i = 4; i < 7; i++) last = await send({ kind: "place", cmdId: `g${i}`, account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
  await until(() => r.lastInSeq === last && gate.queued === 1);
  await r.stop(true);
  await running;
  const handoff = await reader.info(p);
  assert.is(handoff?.lastInSeq, last, "the handoff's snapshot, stored while the gate was still held, covers the last command");
  release();
  await held2;
  await until(() => gate.queued === 0);
  await new Promise((res) => setTimeout(res, 100));
  assert.is((await reader.info(p))?.nuid, handoff?.nuid, "the queued routine snapshot stored nothing once its turn came");
  const out = await output();
  out.forEach((e, i) => assert.is(e.seq, i + 1, "gap-free and duplicate-free"));
});

test("a slot passes without a snapshot while one command is not worth re-encoding the state; the age limit takes one later", async () => {
  const slots: PartitionTuning = { ...tuning, snapshotCommandsEvery: 1_000_000, snapshotMsEvery: 100 };
  const reader = new SnapshotReader(jsm);
  const r = new PartitionRunner(p, deps, slots, 70);
  const running = r.run();
  running.catch(() => {});
  try {
    await until(() => r.state === "serving");
    const before = await reader.info(p);
    const loaded = await reader.load(p, before!);
    const units = PartitionEngine.restore(loaded!.bytes, { partition: p }).snapshotUnits;
    assert.ok(units > UNITS_PER_REPLAYED_COMMAND, `the partition holds ${units} units`);
    const last = await send({ kind: "cancel", cmdId: "w1", account: "erin", market: MARKET, orderId: 999_999 });
    await until(() => r.lastInSeq === last);
    const sentAt = performance.now();
    await new Promise((res) => setTimeout(res, 500));
    assert.is((await reader.info(p))?.nuid, before?.nuid, "five slots passed: one command on this state is not worth a snapshot");
    await until(async () => (await reader.info(p))?.lastInSeq === last, 5_000);
    const waited = performance.now() - sentAt;
    assert.ok(waited >= (AGE_INTERVALS_MAX - 1) * 100, `taken at the age limit (${Math.round(waited)} ms after the command)`);
  } finally {
    await r.stop(false);
    await running.catch(() => {});
  }
});

test("a partition that goes quiet with a few commands spread over LOG_STRETCH_MAX log positions snapshots (what a burst leaves behind)", async () => {
  const rare: PartitionTuning = { ...tuning, snapshotCommandsEvery: 1_000_000, snapshotMsEvery: 3_600_000 };
  const reader = new SnapshotReader(jsm);
  const r = new PartitionRunner(p, deps, rare, 80);
  const running = r.run();
  running.catch(() => {});
  try {
    await until(() => r.state === "serving");
    const before = await reader.info(p);
    const first = await send({ kind: "cancel", cmdId: "q1", account: "erin", market: MARKET, orderId: 999_998 });
    await until(() => r.lastInSeq === first);
    await new Promise((res) => setTimeout(res, 800));
    assert.is((await reader.info(p))?.nuid, before?.nuid, "quiet, but one command over a short stretch: no snapshot");
    // Other partitions' traffic: the log moves on by LOG_STRETCH_MAX positions.
    const other = (p + 1) % P;
    for (let i = 0; i < LOG_STRETCH_MAX; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => js.publish(subjects.in(other, "SKU-OTHER", "zed"), encodeCommand({ kind: "cancel", cmdId: `o${i + k}`, account: "zed", market: "SKU-OTHER", orderId: 1 }))));
    }
    const last = await send({ kind: "cancel", cmdId: "q2", account: "erin", market: MARKET, orderId: 999_997 });
    await until(() => r.lastInSeq === last);
    await until(async () => (await reader.info(p))?.lastInSeq === last, 5_000);
  } finally {
    await r.stop(false);
    await running.catch(() => {});
  }
});

test("a snapshot that fails to store leaves its commands counted, so the next one is taken as soon as it is due", async () => {
  const everyFew: PartitionTuning = { ...tuning, snapshotCommandsEvery: 3, snapshotMsEvery: 3_600_000 };
  let failures = 1;
  const flaky = new Proxy(deps.snapshots, {
    get(target, prop, receiver) {
      if (prop === "put" && failures > 0) {
        failures--;
        return () => Promise.reject(new Error("test: object store unavailable"));
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const reader = new SnapshotReader(jsm);
  const r = new PartitionRunner(p, { ...deps, snapshots: flaky }, everyFew, 90);
  const running = r.run();
  running.catch(() => {});
  try {
    await until(() => r.state === "serving");
    let last = 0;
    for (let i = 0; i < 3; i++) last = await send({ kind: "cancel", cmdId: `sf${i}`, account: "erin", market: MARKET, orderId: 999_990 + i });
    await until(() => r.lastInSeq === last);
    await until(() => failures === 0);
    await until(async () => (await reader.info(p))?.lastInSeq === last, 5_000);
  } finally {
    await r.stop(false);
    await running.catch(() => {});
  }
});

test("a consumer whose iterator throws fails the loop and still stops its timer and query subscription", async () => {
  // nats.js ends an ordered consumer's iterator with an error when it cannot re-create the
  // consumer (a NATS server gone too long): here the iterator throws at once.
  const throwing = consumersThatGiveUp(deps.js, 0);
  const r = new PartitionRunner(p, { ...deps, js: throwing }, tuning, 100);
  const err = await r.run().then(() => null, (e: Error) => e);
  assert.is(err?.message, "test: the consumer gave up");
  assert.is(r.state, "failed", "finished: timer, publisher and query subscription stopped");
  const reply = await nc.request(subjects.query(p), encodeValue({ market: MARKET, orderId: 1 }), { timeout: 500 }).then(() => "answered", (e: Error) => e.name);
  assert.is.not(reply, "answered", "no query answered by the failed runner");
});

test("a handoff stores a snapshot when anything was applied since the last one, and none when nothing was", async () => {
  const rare: PartitionTuning = { ...tuning, snapshotCommandsEvery: 1_000_000, snapshotMsEvery: 3_600_000 };
  const reader = new SnapshotReader(jsm);
  let last = 0;
  for (let i = 0; i < 3; i++) last = await send({ kind: "place", cmdId: `h${i}`, account: "dave", market: MARKET, side: "buy", type: "limit", price: 90, qty: 1, tif: "GTC" });
  const r1 = new PartitionRunner(p, deps, rare, 20);
  const run1 = r1.run();
  await until(() => r1.lastInSeq === last);
  await r1.stop(true);
  await run1;
  const stored = await reader.info(p);
  assert.is(stored?.lastInSeq, last, "3 new commands: the handoff stored a snapshot at the last one");

  const r2 = new PartitionRunner(p, deps, rare, 21);
  const run2 = r2.run();
  await until(() => r2.state === "serving");
  assert.is(r2.lastInSeq, last, "the successor starts from it");
  await r2.stop(true);
  await run2;
  assert.is((await reader.info(p))?.nuid, stored?.nuid, "nothing applied since: the same snapshot object, not a new one");
  const out = await output();
  out.forEach((e, i) => assert.is(e.seq, i + 1, "gap-free and duplicate-free across the handoffs"));
});

test("a snapshot is encoded, and restored, in slices, the event loop turning between them; commands that arrive meanwhile wait and then apply in order", async () => {
  const sliced: PartitionTuning = { ...tuning, snapshotCommandsEvery: 40, snapshotSliceUnits: 3 };
  const r = new PartitionRunner(p, deps, sliced, 40);
  const run = r.run();
  run.catch(() => {});
  try {
    await until(() => r.state === "serving");
    const sends: Promise<number>[] = [];
    for (let i = 0; i < 120; i++) sends.push(send({ kind: "place", cmdId: `sl${i}`, account: "frank", market: MARKET, side: "sell", type: "limit", price: 120 + (i % 7), qty: 1, tif: "GTC" }));
    await Promise.all(sends);
    await until(async () => (await output()).some((e) => e.type === "accepted" && e.cmdId === "sl119"));
    assert.ok(r.encodingSlices > 10, `encodings yielded ${r.encodingSlices} times`);
    const accepted = (await output()).flatMap((e) => (e.type === "accepted" && e.cmdId.startsWith("sl") ? [e.cmdId] : []));
    assert.equal(accepted, Array.from({ length: 120 }, (_, i) => `sl${i}`), "every command applied once, in log order");
  } finally {
    await r.stop(true);
    await run;
  }
  const next = new PartitionRunner(p, deps, sliced, 41);
  const nextRun = next.run();
  await until(() => next.state === "serving");
  assert.ok(next.decodingSlices > 10, `the restore yielded ${next.decodingSlices} times`);
  assert.is(next.lastInSeq, r.lastInSeq, "restored where the handoff's snapshot left off");
  await next.stop(false);
  await nextRun;
  const out = await output();
  out.forEach((e, i) => assert.is(e.seq, i + 1, "gap-free and duplicate-free"));
});

test("a stored snapshot that does not decode is dropped: the partition replays its log from the start, and the output stays gap-free", async () => {
  const before = await output();
  const last = await send({ kind: "place", cmdId: "bad-snap-1", account: "gina", market: MARKET, side: "buy", type: "limit", price: 70, qty: 1, tif: "GTC" });
  await saveSnapshot(deps.snapshots, p, Uint8Array.from([0xde, 0x00, 0x0a, 0xa1, 0x76, 0x01, 0xff]), { partition: p, seq: 1, lastInSeq: 1 });
  const r = new PartitionRunner(p, deps, tuning, 50);
  const run = r.run();
  await until(() => r.state === "serving");
  assert.is(r.lastInSeq, last, "replayed from the start up to the last command");
  await until(async () => (await output()).some((e) => e.type === "accepted" && e.cmdId === "bad-snap-1"));
  const out = await output();
  assert.ok(out.length > before.length);
  out.forEach((e, i) => assert.is(e.seq, i + 1, "gap-free and duplicate-free: the replay's events were already durable"));
  await r.stop(true);
  await run;
});

test("a big rollback point is spilled to a file once its snapshot is stored, and a failing command rolls back from that file", async () => {
  const root = mkdtempSync(join(tmpdir(), "bourse-spill-test-"));
  const spill = RollbackSpill.open(root, 1);
  try {
    const spilling: PartitionTuning = { ...tuning, snapshotCommandsEvery: 5, testSwitches: { poisonCmdIdPrefix: "poison-" } };
    const r = new PartitionRunner(p, { ...deps, rollbackSpill: spill }, spilling, 30);
    const run = r.run();
    run.catch(() => {});
    await until(() => r.state === "serving");
    for (let i = 0; i < 5; i++) await send({ kind: "place", cmdId: `sp${i}`, account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
    const files = (): string[] => readdirSync(spill.dir).filter((f) => f.startsWith(`p${p}-`) && f.endsWith(".snap"));
    await until(() => files().length === 1);

    await send({ kind: "place", cmdId: "poison-1", account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
    await send({ kind: "place", cmdId: "sp-after", account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
    await until(async () => (await output()).some((e) => e.type === "accepted" && e.cmdId === "sp-after"));
    const rejected = (await output()).find((e) => "cmdId" in e && e.cmdId === "poison-1");
    assert.is(rejected?.type, "rejected");
    assert.is((rejected as { code?: string }).code, "internal_error", "rolled back and retried from the spilled point, then dead-lettered");

    // Without its file the rollback point is gone: the next failing command fails the partition (its supervisor restarts it from the store).
    await until(() => files().length === 1);
    for (const f of files()) rmSync(join(spill.dir, f));
    await send({ kind: "place", cmdId: "poison-2", account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
    const err = await run.then(() => null, (e: Error) => e);
    assert.is(err?.name, "PartitionCorruptedError");
    assert.match(err?.message ?? "", /spilled rollback point unreadable/);
  } finally {
    spill.close();
    rmSync(root, { recursive: true, force: true });
  }
  assert.not.ok(existsSync(spill.dir), "close removes the node's spill directory");
});

test("make before break: a successor prepares while the old owner serves, takes over from the old owner's position and last command; output stays gap-free", async () => {
  const rare: PartitionTuning = { ...tuning, snapshotCommandsEvery: 1_000_000, snapshotMsEvery: 3_600_000 };
  const reader = new SnapshotReader(jsm);
  const old = new PartitionRunner(p, deps, rare, 30);
  const oldRun = old.run();
  let last = 0;
  for (let i = 0; i < 5; i++) last = await send({ kind: "place", cmdId: `mb${i}`, account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
  await until(() => old.lastInSeq === last);
  const successor = new PartitionRunner(p, deps, rare, 0);
  await successor.prepare();
  assert.is(successor.state, "recovering", "prepared, not serving: the old owner still is");
  // The old owner goes on serving while the successor waits.
  for (let i = 5; i < 10; i++) last = await send({ kind: "place", cmdId: `mb${i}`, account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
  await until(() => old.lastInSeq === last);
  const snapshotBefore = (await reader.info(p))?.nuid;
  await old.stop(true, false);
  await oldRun;
  const handedOff = old.handoffPosition;
  assert.ok(handedOff !== null && handedOff.streamSeq > 0, "the old owner knows where its durable output ends");
  assert.is((await reader.info(p))?.nuid, snapshotBefore, "no snapshot at a prepared handoff");
  successor.expectApplied(old.lastInSeq);
  successor.startFromPosition(handedOff);
  successor.assignEpoch(31);
  const run = successor.run();
  await until(() => successor.state === "serving");
  assert.is(successor.lastInSeq, last, "serving only once it has applied what the old owner had");
  last = await send({ kind: "place", cmdId: "mb-after", account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
  await until(async () => (await output()).some((e) => e.type === "accepted" && e.cmdId === "mb-after"));
  await successor.stop(false);
  await run;
  const out = await output();
  out.forEach((e, i) => assert.is(e.seq, i + 1, "gap-free and duplicate-free across the switch"));
  assert.is(out.filter((e) => e.type === "accepted" && e.cmdId.startsWith("mb")).length, 11);
});

test("a prepared runner that never runs closes its consumer when stopped; one started from a stale position is fenced, not written twice", async () => {
  const names = async (): Promise<Set<string>> => new Set((await jsm.consumers.list("BOURSE_IN").next()).map((c) => c.name));
  const before = await names();
  const r = new PartitionRunner(p, deps, tuning, 0);
  await r.prepare();
  const opened = [...(await names())].filter((n) => !before.has(n));
  assert.is(opened.length, 1, "prepare() opened the command consumer");
  await r.stop(true);
  assert.is(r.state, "stopped");
  await until(async () => !(await names()).has(opened[0]!), 10_000);

  // A position that is not the output's end (a stale reply): the first publish is refused.
  const stale = new PartitionRunner(p, deps, tuning, 0);
  await stale.prepare();
  stale.startFromPosition({ lastSeq: 0, streamSeq: 0 });
  stale.assignEpoch(40);
  const run = stale.run();
  run.catch(() => {});
  await send({ kind: "place", cmdId: "stale-1", account: "erin", market: MARKET, side: "buy", type: "limit", price: 80, qty: 1, tif: "GTC" });
  const err = await run.then(() => null, (e: Error) => e);
  assert.is(err?.name, "FencedError");
  const out = await output();
  out.forEach((e, i) => assert.is(e.seq, i + 1, "nothing written twice"));
});

test.run();
