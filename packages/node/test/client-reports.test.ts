/**
 * Report delivery under faults that a real node does not produce on demand: report messages
 * lost for chosen accounts or commands, output trimmed from BOURSE_OUT (retention), a re-sent
 * report, a hand-made prevSeq of -1 (the first report after a takeover). These are injected with
 * the doubles of ./support/fake-node.ts, which write real batches to a real BOURSE_OUT on a real
 * nats-server and send ReportMessages the way the node does; the client under test is the real
 * BourseClient. Everything a node does on its own (reports, trades, queries, cancelAll, kill -9
 * and SIGSTOP of an owner) is tested against real `bourse node` processes in client-e2e.test.ts.
 *
 * Each test writes its own partitions: every FakeOutput numbers its events from 1.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { AnyCommand, EngineEvent } from "@bourse/engine";
import { BourseClient } from "../src/client/bourse-client.js";
import type { BourseClientError } from "../src/client/errors.js";
import type { ReportMeta } from "../src/client/report-stream.js";
import { partitionOf } from "../src/partitioning.js";
import { STREAM_OUT } from "../src/protocol.js";
import { provisionForTest } from "./support/provisioned.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";
import { FakeNode, FakeOutput, acceptEverything, type EventBody } from "./support/fake-node.js";

const P = 8;
const MARKET = "SKU-1";
const p = partitionOf(MARKET, P);
/** Partition p + k, and a market in it. */
const part = (k: number): number => (p + k) % P;
function marketIn(q: number): string {
  for (let i = 0; ; i++) if (partitionOf(`M-${i}`, P) === q) return `M-${i}`;
}

let server: NatsServerHandle;
let nc: NatsConnection;
const clients: BourseClient[] = [];

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  await provisionForTest(nc, 8);
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

async function watch(account: string, timeoutMs?: number): Promise<{ client: BourseClient; seen: Seen }> {
  const client = await BourseClient.connect({ servers: server.url, account, partitions: P, ...(timeoutMs !== undefined && { timeoutMs }) });
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

const accepted = (account: string, orderId: number, market = MARKET): EventBody => ({
  type: "accepted", cmdId: `c-${account}-${orderId}`, account, market, orderId, side: "buy", orderType: "limit", price: 100, qty: 5, tif: "GTC",
});
const l2: EventBody = { type: "l2", market: MARKET, side: "buy", price: 100, qty: 5 };
const trade = (maker: string, taker: string): EventBody => ({
  type: "trade", market: MARKET, tradeId: 1, price: 100, qty: 1, takerSide: "sell",
  maker: 1, makerAccount: maker, makerRemaining: 4, taker: 2, takerAccount: taker, takerRemaining: 0,
});
const cancelled = (account: string, orderId: number): EventBody => ({
  type: "cancelled", cmdId: `x-${orderId}`, account, market: MARKET, orderId, remaining: 4, reason: "user",
});

/** The client's reads of BOURSE_OUT, seen as the JetStream API requests it makes. */
function watchOutReads(): { reads: { last_by_subj?: string; next_by_subj?: string; seq?: number }[]; stop: () => void } {
  const reads: { last_by_subj?: string; next_by_subj?: string; seq?: number }[] = [];
  const sub = nc.subscribe(`$JS.API.STREAM.MSG.GET.${STREAM_OUT}`, {
    callback: (_e, m) => {
      reads.push(JSON.parse(new TextDecoder().decode(m.data)) as (typeof reads)[number]);
    },
  });
  return { reads, stop: () => sub.unsubscribe() };
}

test("lost report messages are recovered from BOURSE_OUT: every event once, in order, nothing twice", async () => {
  const { client, seen } = await watch("alice");
  const out = new FakeOutput(nc);
  const other = part(1);
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
  const q = part(2);
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

test("a report that never arrives is found in BOURSE_OUT at the deadline, so the command still resolves", async () => {
  const out = new FakeOutput(nc);
  const node = await FakeNode.start(nc, out, acceptEverything, (a) => a === "frank"); // every report to frank is lost
  try {
    const { client, seen } = await watch("frank", 300);
    const r = await client.place({ market: marketIn(part(3)), side: "buy", type: "limit", price: 100, qty: 1 });
    assert.is(r.status, "accepted");
    await client.idle();
    assert.equal(seen.events.map((x) => [x.e.type, x.meta.recovered]), [["accepted", true]], "delivered to listeners too, marked recovered");
  } finally {
    await node.stop();
  }
});

test("the first report of a partition does not skip the client's earlier events there whose reports were lost", async () => {
  // A node killed (or paused) after the batch of the client's first command in a partition was
  // durable, before its report went out: the second command's report is the first to arrive.
  const out = new FakeOutput(nc);
  const lost = (_account: string, cmd: AnyCommand) => cmd.cmdId === "gina-1";
  const node = await FakeNode.start(nc, out, (cmd, inSeq) => (cmd.account === "gina" ? acceptEverything(cmd, inSeq) : []), lost);
  try {
    const market = marketIn(part(4));
    const { client, seen } = await watch("gina", 2_000);
    const started = Date.now();
    const first = client.place({ market, side: "buy", type: "limit", price: 100, qty: 1, cmdId: "gina-1" });
    await until(() => node.commands.some((c) => c.cmdId === "gina-1"), "the first command to be applied");
    const second = await client.place({ market, side: "buy", type: "limit", price: 101, qty: 1, cmdId: "gina-2" });
    assert.is(second.status, "accepted");
    assert.is((await first).status, "accepted");
    assert.ok(Date.now() - started < 1_500, "the first command resolved with the second's report, not at its deadline");
    await client.idle();
    assert.equal(
      seen.events.map((x) => [x.e.type === "accepted" ? x.e.cmdId : x.e.type, x.meta.recovered]),
      [["gina-1", true], ["gina-2", false]],
      "the first command's event is read back from BOURSE_OUT before the second's is delivered",
    );
    assert.equal(seen.errors, []);
  } finally {
    await node.stop();
  }
});

test("when the first report of a partition continues an event from before the client's first command there, nothing is read back", async () => {
  const out = new FakeOutput(nc);
  const q = part(5);
  const market = marketIn(q);
  await out.emit(q, [accepted("hank", 1, market)]); // before the client's first command: not its to deliver
  const node = await FakeNode.start(nc, out, (cmd, inSeq) => (cmd.account === "hank" ? acceptEverything(cmd, inSeq) : []));
  const { reads, stop } = watchOutReads();
  try {
    const { client, seen } = await watch("hank");
    await out.emit(q, [l2]); // other traffic
    const r = await client.place({ market, side: "buy", type: "limit", price: 100, qty: 1 }); // its report has prevSeq 1
    assert.is(r.status, "accepted");
    await client.idle();
    await nc.flush();
    assert.equal(seen.events.map((x) => [x.e.seq, x.meta.recovered]), [[3, false]]);
    assert.equal(reads.map((x) => (x.last_by_subj ? "last" : "next")), ["last"], "the baseline, and no read back");
  } finally {
    stop();
    await node.stop();
  }
});

test.run();
