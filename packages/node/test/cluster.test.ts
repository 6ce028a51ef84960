/**
 * Three real `bourse node` processes on one real nats-server: end-to-end matching,
 * poison and malformed input, SIGSTOP/SIGCONT fencing, SIGTERM handoff, kill -9.
 * Every scenario ends by checking the whole durable state against the reference
 * model (src/verify): gap-free output, no trade twice, every acked command logged.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { decodeEvents, decodeValue, encodeValue, type EngineEvent } from "@bourse/engine";
import { checkCluster } from "../src/verify/cluster-check.js";
import { readStream } from "../src/verify/durable-log.js";
import { partitionOf } from "../src/partitioning.js";
import { Kvm } from "@nats-io/kv";
import { ASSIGNMENT_KEY, KV_LEASES, STREAM_DLQ, STREAM_IN, STREAM_OUT, headers, subjects } from "../src/protocol.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";
import { NodeProcess } from "../src/local/node-process.js";
import { Publisher, workload } from "./support/load.js";

const P = 8;
const MARKETS = Array.from({ length: 12 }, (_, i) => `M${i}`);
/** Every rollback point is spilled to a file (threshold 1 byte), under a directory this test removes. */
const SPILL_ROOT = mkdtempSync(join(tmpdir(), "bourse-cluster-spill-"));
const NODE_ARGS = ["--dev", "--test-poison-prefix", "poison-", "--snapshot-commands", "200", "--rollback-spill-bytes", "1", "--rollback-dir", SPILL_ROOT];

let server: NatsServerHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let pub: Publisher;
const nodes = new Map<string, NodeProcess>();
/** Nodes that were stopped or killed, kept for their logs. */
const gone: NodeProcess[] = [];

async function startNode(id: string): Promise<NodeProcess> {
  const n = await NodeProcess.start({ id, nats: server.url, partitions: P, args: NODE_ARGS });
  nodes.set(id, n);
  return n;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) {
      const dir = mkdtempSync(join(tmpdir(), "bourse-cluster-test-"));
      for (const n of [...nodes.values(), ...gone]) writeFileSync(join(dir, `${n.opts.id}.log`), n.logText());
      throw new Error(`timed out waiting for ${what}; node logs in ${dir}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until every partition's output has caught up with its input, then checks everything. */
async function settleAndCheck(): Promise<Awaited<ReturnType<typeof checkCluster>>> {
  let report = await checkCluster(js, P, pub.acked);
  await until("output to catch up", async () => {
    report = await checkCluster(js, P, pub.acked);
    return report.violations.every((v) => v.check !== "output_length");
  }, 30_000).catch((e: Error) => {
    throw new Error(`${JSON.stringify(report.violations.slice(0, 8))}\n${e.message}`);
  });
  assert.equal(report.violations, [], JSON.stringify(report.violations.slice(0, 5)));
  return report;
}

/** Partitions the agreed assignment table gives a node. */
async function ownedBy(id: string): Promise<number[]> {
  const kv = await new Kvm(nc).open(KV_LEASES);
  const e = await kv.get(ASSIGNMENT_KEY);
  const owners = (e!.json() as { owners: string[] }).owners;
  return owners.flatMap((o, p) => (o === id ? [p] : []));
}

async function outputEvents(): Promise<EngineEvent[]> {
  return (await readStream(js, STREAM_OUT, subjects.outAll)).flatMap((m) => decodeEvents(m.data));
}

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  pub = new Publisher(js, P);
  await Promise.all(["n1", "n2", "n3"].map(startNode));
  await until("all partitions served", () => [...nodes.values()].flatMap((n) => n.servingPartitions()).length >= P);
});

test.after(async () => {
  await Promise.allSettled([...nodes.values()].map((n) => n.stop()));
  await nc?.close();
  await server?.dispose();
  rmSync(SPILL_ROOT, { recursive: true, force: true });
});

test("orders across many markets and partitions on 3 nodes match as the reference model says", async () => {
  const items = workload(1, MARKETS, 1_500);
  await pub.sendAll(items.slice(0, MARKETS.length));
  await pub.sendAll(items.slice(MARKETS.length));
  const report = await settleAndCheck();
  assert.ok(report.trades > 100, `trades: ${report.trades}`);
  const owners = new Set([...nodes.values()].filter((n) => n.servingPartitions().length > 0).map((n) => n.opts.id));
  assert.is(owners.size, 3, "all three nodes serve partitions");
});

test("queries are answered by the owning node", async () => {
  const events = await outputEvents();
  const acc = events.find((e) => e.type === "accepted")!;
  assert.ok(acc && acc.type === "accepted");
  const reply = await nc.request(subjects.query(partitionOf(acc.market, P)), encodeValue({ kind: "query", market: acc.market, orderId: acc.orderId }), { timeout: 2_000 });
  const body = decodeValue(reply.data) as { ok: boolean; order: { orderId: number } };
  assert.ok(body.ok);
  assert.is(body.order.orderId, acc.orderId);
});

test("a poison command is dead-lettered after K tries and the partition keeps serving (its rollbacks read the spilled point)", async () => {
  const m = MARKETS[0]!;
  const spilled = readdirSync(SPILL_ROOT).flatMap((d) => readdirSync(join(SPILL_ROOT, d)).filter((f) => f.startsWith(`p${partitionOf(m, P)}-`)));
  assert.ok(spilled.length >= 1, `the partition's rollback point is a file (found ${spilled.length})`);
  await pub.send({ kind: "place", cmdId: "poison-1", account: "a1", market: m, side: "buy", type: "limit", price: 1_000, qty: 1, tif: "GTC" }, m);
  await pub.send({ kind: "place", cmdId: "after-poison", account: "a1", market: m, side: "buy", type: "limit", price: 999, qty: 1, tif: "GTC" }, m);
  await until("the next command's outcome", async () => (await outputEvents()).some((e) => e.type === "accepted" && e.cmdId === "after-poison"));
  const rejected = (await outputEvents()).find((e) => e.type === "rejected" && e.cmdId === "poison-1");
  assert.ok(rejected && rejected.type === "rejected" && rejected.code === "internal_error");
  await until("the dead letter", async () => (await jsm.streams.info(STREAM_DLQ)).state.messages >= 1);
  const dl = decodeValue((await jsm.streams.getMessage(STREAM_DLQ, { last_by_subj: subjects.dlq(partitionOf(m, P)) }))!.data) as { command: { cmdId: string }; attempts: number };
  assert.is(dl.command.cmdId, "poison-1");
  assert.is(dl.attempts, 3);
  await settleAndCheck();
});

test("malformed payloads published straight to the stream are rejected with reasons; the partition keeps serving", async () => {
  const m = MARKETS[1]!;
  const p = partitionOf(m, P);
  const raw = async (account: string, data: Uint8Array | string) =>
    js.publish(subjects.in(p, m, account), typeof data === "string" ? new TextEncoder().encode(data) : data);
  await raw("a1", new Uint8Array([0xc1, 0xff, 0x00]));
  await raw("a1", '{"kind":"place","cmdId":"bad-json","account":"a1","market":"M1","side":"buy","type":"limit","price":"x","qty":1}');
  await raw("a2", '{"kind":"place","cmdId":"spoof","account":"a1","market":"M1","side":"buy","type":"limit","price":1000,"qty":1}');
  await raw("a1", '{"kind":"place","cmdId":"ok-after-bad","account":"a1","market":"M1","side":"buy","type":"limit","price":998,"qty":1}');
  await until("the good command's outcome", async () => (await outputEvents()).some((e) => e.type === "accepted" && e.cmdId === "ok-after-bad"));
  const rej = (await outputEvents()).filter((e) => e.type === "rejected" && e.partition === p);
  const codes = rej.map((e) => (e.type === "rejected" ? `${e.cmdId}:${e.code}` : ""));
  assert.ok(codes.includes(":malformed"), codes.join(","));
  assert.ok(codes.includes("bad-json:invalid_type"), codes.join(","));
  assert.ok(codes.includes("spoof:invalid_value"), codes.join(","));
});

test("a GTD order expires by log time although nothing else reaches its partition", async () => {
  const m = MARKETS[2]!;
  const expireAt = Date.now() + 800;
  await pub.send({ kind: "place", cmdId: "gtd-1", account: "a3", market: m, side: "buy", type: "limit", price: 900, qty: 1, tif: "GTD", expireAt }, m);
  await until("the expiry", async () => (await outputEvents()).some((e) => e.type === "expired" && e.market === m), 5_000);
  const expired = (await outputEvents()).find((e) => e.type === "expired" && e.market === m)!;
  assert.ok(expired.ts >= expireAt, `expired at log time ${expired.ts}, not before ${expireAt}`);
  await settleAndCheck();
});

test("SIGSTOP until the partitions move, then SIGCONT: the paused node is fenced and none of its output is accepted", async () => {
  const victim = nodes.get("n1")!;
  const others = ["n2", "n3"].map((id) => nodes.get(id)!);
  const mark = others.map((n) => n.lines.length);
  const owned = new Set(await ownedBy("n1"));
  assert.ok(owned.size > 0, "the paused node owns partitions");
  victim.kill("SIGSTOP");
  const stoppedAt = Date.now();
  const items = workload(2, MARKETS, 300, "stop").slice(MARKETS.length);
  await pub.sendAll(items);
  await until("the paused node's partitions to move", () => [...owned].every((p) => others.some((n, i) => n.servingPartitions(mark[i]).includes(p))));
  const movedMs = Date.now() - stoppedAt;
  victim.kill("SIGCONT");
  await pub.sendAll(workload(3, MARKETS, 300, "cont").slice(MARKETS.length));
  await new Promise((r) => setTimeout(r, 1_500));
  await settleAndCheck();
  // After the takeover no output message may come from the paused node's old epochs.
  const out = await readStream(js, STREAM_OUT, subjects.outAll);
  for (const p of owned) {
    const msgs = out.filter((m) => m.subject === subjects.out(p));
    let maxEpoch = 0;
    for (const m of msgs) {
      const epoch = Number(m.headers.get(headers.epoch));
      assert.ok(epoch >= maxEpoch, `partition ${p}: epoch ${epoch} written after ${maxEpoch} (node ${m.headers.get(headers.node)})`);
      maxEpoch = epoch;
    }
  }
  console.log(`    partitions moved ${movedMs} ms after SIGSTOP`);
});

test("SIGTERM hands partitions to a successor within one second", async () => {
  const victim = nodes.get("n2")!;
  const others = [...nodes.values()].filter((n) => n !== victim);
  const mark = others.map((n) => n.lines.length);
  const owning = await ownedBy("n2");
  assert.ok(owning.length > 0, "the victim owns partitions");
  const t0 = Date.now();
  victim.kill("SIGTERM");
  await until("successors serving", () => owning.every((p) => others.some((n, i) => n.servingPartitions(mark[i]).includes(p))), 10_000);
  const servedAt = Math.max(...owning.map((p) => Math.min(...others.map((n, i) => {
    const l = n.lines.slice(mark[i]).find((x) => x.msg === "partition serving" && x.partition === p);
    return l ? Number(l["time"]) : Infinity;
  }))));
  const handoffMs = servedAt - t0;
  console.log(`    handoff: ${handoffMs} ms from SIGTERM until every moved partition served again`);
  assert.ok(handoffMs < 1_000, `handoff took ${handoffMs} ms`);
  assert.is(await victim.waitExit(), 0);
  // Make before break: each successor prepared, asked, and the victim released to it.
  const released = victim.lines.filter((l) => l.msg === "partition released to its prepared successor" && Number(l["time"]) >= t0).map((l) => l.partition as number);
  const prepared = others.flatMap((n, i) => n.lines.slice(mark[i]).filter((l) => l.msg === "handoff prepared" && l["released"] === true).map((l) => l.partition as number));
  assert.equal([...released].sort((a, b) => a - b), [...owning].sort((a, b) => a - b), "every moved partition released on request");
  assert.equal([...prepared].sort((a, b) => a - b), [...owning].sort((a, b) => a - b), "every successor prepared first");
  nodes.delete("n2");
  gone.push(victim);
  await startNode("n4");
  await settleAndCheck();
});

test("SIGTERM of a node mid-load: the prepared handoff loses no acknowledged command and applies none twice", async () => {
  const victim = nodes.get("n1")!;
  const owning = await ownedBy("n1");
  assert.ok(owning.length > 0, "the victim owns partitions");
  const items = workload(5, MARKETS, 3_000, "term").slice(MARKETS.length);
  let signalled = false;
  await pub.sendAll(items, (n) => {
    if (!signalled && n >= 1_000) {
      signalled = true;
      victim.kill("SIGTERM");
    }
  });
  assert.ok(signalled);
  assert.is(await victim.waitExit(), 0);
  nodes.delete("n1");
  gone.push(victim);
  assert.ok(victim.lines.some((l) => l.msg === "partition released to its prepared successor"), "handed off on request, under load");
  const report = await settleAndCheck();
  console.log(`    ${report.commands} commands, ${report.events} events, ${report.trades} trades verified against the model`);
  await startNode("n5");
  await settleAndCheck();
});

test("kill -9 of a node mid-load: every acknowledged command has exactly one outcome, no trade twice", async () => {
  const victim = nodes.get("n3")!;
  const items = workload(4, MARKETS, 3_000, "kill").slice(MARKETS.length);
  let killed = false;
  await pub.sendAll(items, (n) => {
    if (!killed && n >= 1_000) {
      killed = true;
      victim.kill("SIGKILL");
    }
  });
  assert.ok(killed);
  nodes.delete("n3");
  gone.push(victim);
  const report = await settleAndCheck();
  const all = await readStream(js, STREAM_IN, subjects.inAll);
  assert.ok(all.length >= pub.acked.size, "every acknowledged command is in the log");
  console.log(`    ${report.commands} commands, ${report.events} events, ${report.trades} trades verified against the model`);
});

test.run();
