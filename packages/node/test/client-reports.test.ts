import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { EngineEvent } from "@bourse/engine";
import { BourseClient } from "../src/client/bourse-client.js";
import type { BourseClientError } from "../src/client/errors.js";
import type { ReportMeta } from "../src/client/report-stream.js";
import { partitionOf } from "../src/partitioning.js";
import { STREAM_IN, STREAM_OUT, subjects } from "../src/protocol.js";
import { startNatsServer, type NatsServerHandle } from "./support/nats-server.js";
import { FakeOutput, type EventBody } from "./support/fake-node.js";

const P = 4;
const MARKET = "SKU-1";
const p = partitionOf(MARKET, P);
const other = (p + 1) % P;

let server: NatsServerHandle;
let nc: NatsConnection;
const clients: BourseClient[] = [];

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM_IN, subjects: [subjects.inAll] });
  await jsm.streams.add({ name: STREAM_OUT, subjects: [subjects.outAll] });
});

test.after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await nc?.close();
  await server?.dispose();
});

interface Seen {
  events: { e: EngineEvent; meta: ReportMeta }[];
  errors: BourseClientError[];
}

async function watch(account: string): Promise<{ client: BourseClient; seen: Seen }> {
  const client = await BourseClient.connect({ servers: server.url, account, partitions: P });
  clients.push(client);
  const seen: Seen = { events: [], errors: [] };
  client.onReport((e, meta) => seen.events.push({ e, meta }));
  client.onError((e) => seen.errors.push(e));
  return { client, seen };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const accepted = (account: string, orderId: number): EventBody => ({
  type: "accepted", cmdId: `c-${account}-${orderId}`, account, market: MARKET, orderId, side: "buy", orderType: "limit", price: 100, qty: 5, tif: "GTC",
});
const l2: EventBody = { type: "l2", market: MARKET, side: "buy", price: 100, qty: 5 };
const trade = (maker: string, taker: string): EventBody => ({
  type: "trade", market: MARKET, tradeId: 1, price: 100, qty: 1, takerSide: "sell",
  maker: 1, makerAccount: maker, makerRemaining: 4, taker: 2, takerAccount: taker, takerRemaining: 0,
});
const cancelled = (account: string, orderId: number): EventBody => ({
  type: "cancelled", cmdId: `x-${orderId}`, account, market: MARKET, orderId, remaining: 4, reason: "user",
});

test("lost report messages are recovered from BOURSE_OUT: every event once, in order, nothing twice", async () => {
  const { client, seen } = await watch("alice");
  const out = new FakeOutput(nc);
  const lose = (a: string) => a === "alice";

  await out.emit(p, [accepted("alice", 1), l2]); //                     seq 1-2: reported
  await out.emit(other, [accepted("alice", 50)]); //                    another partition: reported
  await out.emit(p, [accepted("bob", 3), trade("bob", "alice")], { drop: lose }); // seq 3-4: alice's report lost
  await out.emit(other, [l2]); //                                       noise on another partition
  await out.emit(p, [cancelled("alice", 1)], { drop: lose }); //        seq 5: lost
  await out.emit(p, [accepted("bob", 6)]); //                           seq 6: bob only
  const b = await out.emit(p, [accepted("alice", 7), l2]); //           seq 7-8: reported, prevSeq 5 ≠ 1: gap
  await until(() => seen.events.filter((x) => x.meta.partition === p).length >= 4, "recovery");

  // The same report again (a re-send) and a report after a takeover (prevSeq -1) with nothing missed.
  const again = out.reportsFor(p, b.streamSeq, b.events).get("alice");
  assert.ok(again);
  out.publishReport("alice", { ...again!, prevSeq: 5 });
  const t = await out.writeBatch(p, [accepted("alice", 9)]); //         seq 9
  out.publishReport("alice", { ...out.reportsFor(p, t.streamSeq, t.events).get("alice")!, prevSeq: -1 });
  await nc.flush();
  await until(() => seen.events.some((x) => x.e.seq === 9 && x.meta.partition === p), "takeover report");
  await client.idle();

  const inP = seen.events.filter((x) => x.meta.partition === p);
  assert.equal(inP.map((x) => x.e.seq), [1, 4, 5, 7, 9], "alice's events of partition p, each once, in order");
  assert.equal(inP.map((x) => x.e.type), ["accepted", "trade", "cancelled", "accepted", "accepted"]);
  assert.equal(inP.map((x) => x.meta.recovered), [false, true, true, false, false]);
  assert.equal(seen.events.filter((x) => x.meta.partition === other).map((x) => x.e.seq), [1]);
  assert.equal(seen.errors, []);
});

test("a gap whose output is gone from BOURSE_OUT is reported once as report_gap, and delivery goes on", async () => {
  const { client, seen } = await watch("carol");
  const out = new FakeOutput(nc);
  const q = (p + 2) % P;
  const first = await out.emit(q, [accepted("carol", 1)]);
  assert.ok(first.streamSeq > 0);
  const lost = await out.emit(q, [accepted("carol", 2)], { drop: () => true });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.deleteMessage(STREAM_OUT, lost.streamSeq); // retention took it
  await out.emit(q, [accepted("carol", 3)]);
  await until(() => seen.events.some((x) => x.e.seq === 3), "the report after the gap");
  await client.idle();
  assert.equal(seen.events.map((x) => x.e.seq), [1, 3]);
  assert.is(seen.errors.length, 1, seen.errors.map((e) => e.message).join("; "));
  assert.is(seen.errors[0]!.code, "report_gap");
  assert.match(seen.errors[0]!.message, /missing/);
});

test("a throwing listener is reported through onError and does not stop the others; malformed reports are reported", async () => {
  const { client, seen } = await watch("dave");
  client.onReport(() => {
    throw new Error("listener bug");
  });
  const out = new FakeOutput(nc);
  await out.emit(p, [accepted("dave", 1)]);
  nc.publish(subjects.evt("dave"), new Uint8Array([0xc1])); // 0xc1 is never valid msgpack
  await nc.flush();
  await until(() => seen.events.length === 1 && seen.errors.length === 2, "one event and two errors");
  assert.equal(seen.errors.map((e) => e.code).sort(), ["listener_failed", "malformed_report"]);
  const stillAlive = await out.emit(p, [accepted("dave", 2)]);
  await until(() => seen.events.length === 2, "the next event");
  assert.is(seen.events[1]!.meta.streamSeq, stillAlive.streamSeq);
});

test("unsubscribing a listener stops its deliveries", async () => {
  const { client } = await watch("erin");
  const got: number[] = [];
  const off = client.onReport((e) => got.push(e.seq));
  const out = new FakeOutput(nc);
  const q = (p + 3) % P;
  await out.emit(q, [accepted("erin", 1)]);
  await until(() => got.length === 1, "first event");
  off();
  await out.emit(q, [accepted("erin", 2)]);
  await new Promise((r) => setTimeout(r, 100));
  await client.idle();
  assert.equal(got, [1]);
});

test.run();
