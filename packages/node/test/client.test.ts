import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { decodeCommand, encodeValue, type AnyCommand } from "@bourse/engine";
import { BourseClient } from "../src/client/bourse-client.js";
import { buildCommand } from "../src/client/commands.js";
import {
  BourseClientError,
  BoursePublishError,
  BourseQueryError,
  BourseReportTimeoutError,
  BourseValidationError,
} from "../src/client/errors.js";
import { publishCommand, type JsPublisher, type PublishPolicy } from "../src/client/publish.js";
import { partitionOf } from "../src/partitioning.js";
import { CLUSTER_CONFIG_KEY, KV_CLUSTER, STREAM_IN, STREAM_OUT, headers, subjects } from "../src/protocol.js";
import { startNatsServer, type NatsServerHandle } from "./support/nats-server.js";
import { FakeNode, FakeOutput, acceptEverything } from "./support/fake-node.js";

const P = 8;
const MARKET = "SKU-1";
const p = partitionOf(MARKET, P);

let server: NatsServerHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
const clients: BourseClient[] = [];

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM_IN, subjects: [subjects.inAll], duplicate_window: 60_000_000_000 });
  await jsm.streams.add({ name: STREAM_OUT, subjects: [subjects.outAll] });
});

test.after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await nc?.close();
  await server?.dispose();
});

async function client(account: string, opts: { timeoutMs?: number; queryTimeoutMs?: number } = {}): Promise<BourseClient> {
  const c = await BourseClient.connect({ servers: server.url, account, partitions: P, ...opts });
  clients.push(c);
  return c;
}

async function rejects<E extends Error>(p: Promise<unknown>, type: new (...a: never[]) => E, check: (e: E) => void = () => {}): Promise<E> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, type, `expected ${type.name}, got ${String(e)}`);
    check(e as E);
    return e as E;
  }
  assert.unreachable(`expected a ${type.name}, but it resolved`);
  throw new Error("unreachable");
}

// ------------------------------------------------------------------ validation

test("invalid input is refused before sending, with a typed error naming the field", async () => {
  const c = await client("acct-v");
  const cases: [() => Promise<unknown>, string, string][] = [
    [() => c.place({ market: "SKU 1", side: "buy", type: "limit", price: 1, qty: 1 }), "market", "invalid_value"],
    [() => c.place({ market: "SKU.1", side: "buy", type: "limit", price: 1, qty: 1 }), "market", "invalid_value"],
    [() => c.place({ market: MARKET, side: "buy", type: "limit", price: 1 } as never), "qty", "missing_field"],
    [() => c.place({ market: MARKET, side: "up", type: "limit", price: 1, qty: 1 } as never), "side", "invalid_value"],
    [() => c.place({ market: MARKET, side: "buy", type: "limit", price: 1.5, qty: 1 }), "price", "invalid_value"],
    [() => c.place({ market: MARKET, side: "buy", type: "limit", price: 1, qty: 1, colour: "red" } as never), "colour", "unknown_field"],
    [() => c.place({ market: MARKET, side: "buy", type: "limit", price: 1, qty: 1, account: "other" } as never), "account", "unknown_field"],
    [() => c.amend({ market: MARKET, orderId: 3 }), "price", "missing_field"],
    [() => c.cancel({ market: MARKET } as never), "orderId", "missing_field"],
    [() => c.cancelAll({ market: "a b" }), "market", "invalid_value"],
    [() => c.query({ market: MARKET, orderId: 0 }), "orderId", "invalid_value"],
    [() => c.depth({ market: MARKET, levels: 0 }), "levels", "invalid_value"],
    [() => c.place(null as never), "input", "malformed"],
  ];
  for (const [call, field, code] of cases) {
    await rejects(call(), BourseValidationError, (e) => {
      assert.is(e.field, field, e.message);
      assert.is(e.rejectCode, code, e.message);
      assert.is(e.code, "invalid_input");
      if (field !== "input") assert.ok(e.message.includes(field), `message names ${field}: ${e.message}`);
    });
  }
  const info = await jsm.streams.info(STREAM_IN);
  assert.is(info.state.messages, 0, "nothing was published");
});

test("connect refuses a bad account or partition count without connecting", async () => {
  await rejects(BourseClient.connect({ servers: "nats://127.0.0.1:1", account: "a.b" }), BourseValidationError, (e) => assert.is(e.field, "account"));
  await rejects(BourseClient.connect({ servers: "nats://127.0.0.1:1", account: "" }), BourseValidationError, (e) => assert.is(e.field, "account"));
  await rejects(BourseClient.connect({ servers: "nats://127.0.0.1:1", account: "a", partitions: 0 }), BourseValidationError, (e) => assert.is(e.field, "partitions"));
  await rejects(BourseClient.connect({ servers: "nats://127.0.0.1:1", account: "a", partitions: 4 }), BourseClientError, (e) => assert.is(e.code, "connect_failed"));
});

test("the partition count comes from KV bourse_cluster/config when not given", async () => {
  await rejects(BourseClient.connect({ servers: server.url, account: "acct-kv" }), BourseClientError, (e) => {
    assert.is(e.code, "config_unavailable");
    assert.match(e.message, /partitions option/);
  });
  const kv = await new Kvm(nc).create(KV_CLUSTER);
  await kv.put(CLUSTER_CONFIG_KEY, JSON.stringify({ partitions: 13, createdAt: new Date().toISOString() }));
  const c = await BourseClient.connect({ servers: server.url, account: "acct-kv" });
  clients.push(c);
  assert.is(c.partitions, 13);
  assert.is(c.partitionOf(MARKET), partitionOf(MARKET, 13));
});

// ------------------------------------------------------------------ publishing

test("a place is logged on bourse.in.<p>.<market>.<account> with Nats-Msg-Id = cmdId; with no node it times out naming the cmdId", async () => {
  const c = await client("acct-1", { timeoutMs: 300 });
  const err = await rejects(
    c.place({ market: MARKET, side: "buy", type: "limit", price: 100, qty: 5, cmdId: "cmd-place-1" }),
    BourseReportTimeoutError,
  );
  assert.is(err.cmdId, "cmd-place-1");
  assert.is(err.code, "report_timeout");
  assert.match(err.message, /cmd-place-1/);
  assert.match(err.message, /IS logged/);

  const m = await jsm.streams.getMessage(STREAM_IN, { last_by_subj: subjects.in(p, MARKET, "acct-1") });
  assert.ok(m, "the command is in BOURSE_IN");
  assert.is(err.inputSeq, m!.seq, "the error names where it is logged");
  assert.is(m!.subject, `bourse.in.${p}.SKU-1.acct-1`);
  assert.is(m!.header.get(headers.msgId), "cmd-place-1");
  const d = decodeCommand(m!.data);
  assert.ok(d.ok);
  assert.equal(d.ok && d.cmd, { kind: "place", cmdId: "cmd-place-1", account: "acct-1", market: MARKET, side: "buy", type: "limit", price: 100, qty: 5, tif: "GTC" });
});

test("a cmdId is generated when absent (a UUID), and is what the log and the report carry", async () => {
  const out = new FakeOutput(nc);
  const node = await FakeNode.start(nc, out, acceptEverything);
  try {
    const c = await client("acct-gen");
    const r = await c.place({ market: MARKET, side: "sell", type: "limit", price: 101, qty: 2 });
    assert.match(r.cmdId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.is(node.commands.at(-1)?.cmdId, r.cmdId);
  } finally {
    await node.stop();
  }
});

test("a publish whose ack is lost is retried with the same Nats-Msg-Id and de-duplicated by the stream", async () => {
  let calls = 0;
  // Stores the message, then loses the acknowledgement, the way a timeout after the server stored it does.
  const lossy: JsPublisher = {
    async publish(subject, data, opts) {
      calls++;
      const ack = await js.publish(subject, data, opts);
      if (calls === 1) throw new TimeoutError();
      return ack;
    },
  };
  const policy: PublishPolicy = { attemptsMax: 3, ackMsTimeout: 1000, backoffMsBase: 10, backoffMsMax: 50 };
  const subject = subjects.in(p, MARKET, "acct-dup");
  const before = (await jsm.streams.info(STREAM_IN)).state.messages;
  const r = await publishCommand(lossy, subject, new TextEncoder().encode("{}"), "cmd-dup-1", policy);
  assert.is(r.attempts, 2);
  assert.is(r.ack.duplicate, true, "the second attempt is a duplicate of the first");
  assert.is((await jsm.streams.info(STREAM_IN)).state.messages, before + 1, "stored once");
});

test("a publish that is never acknowledged fails with a typed error: may be logged, retry with the same cmdId", async () => {
  let calls = 0;
  const silent: JsPublisher = {
    async publish() {
      calls++;
      throw new TimeoutError();
    },
  };
  const policy: PublishPolicy = { attemptsMax: 4, ackMsTimeout: 10, backoffMsBase: 1, backoffMsMax: 5 };
  const e = await rejects(publishCommand(silent, "bourse.in.0.X.a", new Uint8Array([0x80]), "cmd-lost", policy), BoursePublishError);
  assert.is(calls, 4);
  assert.is(e.attempts, 4);
  assert.is(e.mayBeLogged, true);
  assert.is(e.cmdId, "cmd-lost");
  assert.match(e.message, /may or may not have been logged/);
  assert.match(e.message, /same cmdId \(cmd-lost\)/);
  assert.instance(e.cause, TimeoutError);

  // No stream for the subject: no responders on every attempt, so nothing was stored.
  const patient = { ...policy, ackMsTimeout: 2000 }; // no attempt may time out, or the answer is "maybe"
  const none = await rejects(publishCommand(js, "nowhere.at.all", new Uint8Array([0x80]), "cmd-none", patient), BoursePublishError);
  assert.is(none.mayBeLogged, false);
  assert.match(none.message, /was not logged/);
});

// ------------------------------------------------------------------ reports settle commands

test("place, amend and cancel resolve with their reports; a repeated cmdId resolves with the original outcome", async () => {
  const out = new FakeOutput(nc);
  const node = await FakeNode.start(nc, out, acceptEverything);
  try {
    const c = await client("acct-2");
    const placed = await c.place({ market: MARKET, side: "buy", type: "limit", price: 100, qty: 5, tif: "GTC", cmdId: "c2-place" });
    assert.is(placed.status, "accepted");
    assert.ok(placed.ok);
    assert.is(placed.duplicate, false);
    assert.is(placed.partition, p);
    assert.ok(placed.orderId > 0);
    assert.is(placed.event.type, "accepted");

    const amended = await c.amend({ market: MARKET, orderId: placed.orderId, qty: 3 });
    assert.is(amended.status, "amended");
    assert.is(amended.orderId, placed.orderId);
    const cancelled = await c.cancel({ market: MARKET, orderId: placed.orderId });
    assert.is(cancelled.status, "cancelled");

    // The same cmdId again: BOURSE_IN drops it as a duplicate, and the client still answers with the outcome it saw.
    const again = await c.place({ market: MARKET, side: "buy", type: "limit", price: 100, qty: 5, cmdId: "c2-place" });
    assert.equal(again, placed);
    assert.is(node.commands.filter((x) => x.cmdId === "c2-place").length, 1);
  } finally {
    await node.stop();
  }
});

test("a duplicate event (repeat beyond the stream's window) resolves with its original outcome; a rejection resolves, not throws", async () => {
  const out = new FakeOutput(nc);
  const node = await FakeNode.start(nc, out, (cmd: AnyCommand) => {
    if (cmd.cmdId === "old-cmd") return [{ type: "duplicate", cmdId: cmd.cmdId, account: cmd.account, original: { result: "accepted", orderId: 77 } }];
    if (cmd.cmdId === "old-cancel") return [{ type: "duplicate", cmdId: cmd.cmdId, account: cmd.account, original: { result: "done", orderId: 77 } }];
    return [{ type: "rejected", cmdId: cmd.cmdId, account: cmd.account, market: MARKET, orderId: 0, code: "invalid_tick", message: "price 101 is not a multiple of tick 2" }];
  });
  try {
    const c = await client("acct-3");
    const dup = await c.place({ market: MARKET, side: "buy", type: "limit", price: 100, qty: 1, cmdId: "old-cmd" });
    assert.is(dup.status, "accepted");
    assert.is(dup.duplicate, true);
    assert.is(dup.orderId, 77);
    const dupCancel = await c.cancel({ market: MARKET, orderId: 77, cmdId: "old-cancel" });
    assert.is(dupCancel.status, "cancelled");
    assert.is(dupCancel.duplicate, true);

    const rej = await c.place({ market: MARKET, side: "buy", type: "limit", price: 101, qty: 1 });
    assert.is(rej.status, "rejected");
    assert.is(rej.ok, false);
    assert.is(rej.code, "invalid_tick");
    assert.match(rej.message ?? "", /tick/);
  } finally {
    await node.stop();
  }
});

test("a report that never arrives is found in BOURSE_OUT at the deadline, so the command still resolves", async () => {
  const out = new FakeOutput(nc);
  const node = await FakeNode.start(nc, out, acceptEverything, () => true); // every report message is lost
  try {
    const c = await client("acct-4", { timeoutMs: 300 });
    const seen: number[] = [];
    c.onReport((e, meta) => {
      if (meta.recovered) seen.push(e.seq);
    });
    const r = await c.place({ market: MARKET, side: "buy", type: "limit", price: 100, qty: 1 });
    assert.is(r.status, "accepted");
    assert.is(seen.length, 1, "delivered to listeners too, marked recovered");
  } finally {
    await node.stop();
  }
});

// ------------------------------------------------------------------ cancelAll

test("cancelAll: one command in the market's partition, or one per partition with derived cmdIds", async () => {
  const c = await client("acct-ca");
  const one = await c.cancelAll({ market: MARKET, cmdId: "ca-1" });
  assert.equal(one, { cmdId: "ca-1", partitions: [p], cmdIds: ["ca-1"] });
  const m = await jsm.streams.getMessage(STREAM_IN, { last_by_subj: subjects.in(p, MARKET, "acct-ca") });
  assert.is(m?.header.get(headers.msgId), "ca-1");

  const all = await c.cancelAll({ cmdId: "ca-all" });
  assert.is(all.cmdId, "ca-all");
  assert.equal(all.partitions, [...Array(P).keys()]);
  assert.equal(all.cmdIds, [...Array(P).keys()].map((i) => `ca-all:${i}`));
  for (let i = 0; i < P; i++) {
    const mi = await jsm.streams.getMessage(STREAM_IN, { last_by_subj: subjects.in(i, "_", "acct-ca") });
    assert.is(mi?.header.get(headers.msgId), `ca-all:${i}`);
    const d = decodeCommand(mi!.data);
    assert.equal(d.ok && d.cmd, { kind: "cancelAll", cmdId: `ca-all:${i}`, account: "acct-ca" });
  }
  // Retrying the whole call is idempotent: every partition's publish is a duplicate.
  const before = (await jsm.streams.info(STREAM_IN)).state.messages;
  await c.cancelAll({ cmdId: "ca-all" });
  assert.is((await jsm.streams.info(STREAM_IN)).state.messages, before);
});

// ------------------------------------------------------------------ queries

test("query: no responders, timeout, an error reply and an order reply", async () => {
  const c = await client("acct-q", { queryTimeoutMs: 200 });
  await rejects(c.query({ market: MARKET, orderId: 5 }), BourseQueryError, (e) => {
    assert.is(e.failure, "no_responders");
    assert.is(e.partition, p);
    assert.match(e.message, new RegExp(`bourse\\.q\\.${p}`));
  });

  const mute = nc.subscribe(subjects.query(p), { callback: () => {} });
  await nc.flush();
  await rejects(c.query({ market: MARKET, orderId: 5 }), BourseQueryError, (e) => assert.is(e.failure, "timeout"));
  mute.unsubscribe();

  const order = { orderId: 5, cmdId: "x", account: "acct-q", market: MARKET, side: "buy", orderType: "limit", tif: "GTC", price: 100, qty: 5, filled: 2, remaining: 3, status: "partially_filled", expireAt: 0 };
  const requests: unknown[] = [];
  const responder = nc.subscribe(subjects.query(p), {
    callback: (_err, msg) => {
      const d = decodeCommand(msg.data);
      requests.push(d.ok ? d.cmd : d);
      const q = d.ok && d.cmd.kind === "query" ? d.cmd : undefined;
      msg.respond(encodeValue(q?.orderId === 5 ? { ok: true, order } : { ok: false, code: "unknown_order", message: "order 6 is not resident" }));
    },
  });
  await nc.flush();
  try {
    assert.equal(await c.query({ market: MARKET, orderId: 5 }), order);
    await rejects(c.query({ market: MARKET, orderId: 6 }), BourseQueryError, (e) => {
      assert.is(e.failure, "rejected");
      assert.is(e.rejectCode, "unknown_order");
    });
    const q0 = requests[0] as { kind: string; account: string; market: string; orderId: number; cmdId: string };
    assert.is(q0.kind, "query");
    assert.is(q0.account, "acct-q");
    assert.is(q0.orderId, 5);
    assert.ok(q0.cmdId.length > 0);
  } finally {
    responder.unsubscribe();
  }
});

// ------------------------------------------------------------------ lifecycle

test("close() fails in-flight waits with 'closed' and later calls with 'closed'", async () => {
  const c = await BourseClient.connect({ servers: server.url, account: "acct-close", partitions: P, timeoutMs: 10_000 });
  const pending = c.place({ market: MARKET, side: "buy", type: "limit", price: 100, qty: 1 });
  // Wait until it is logged, then close while it waits for its report.
  const subject = subjects.in(p, MARKET, "acct-close");
  for (let i = 0; i < 100 && !(await jsm.streams.getMessage(STREAM_IN, { last_by_subj: subject }).catch(() => null)); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await c.close();
  await rejects(pending, BourseClientError, (e) => assert.is(e.code, "closed"));
  await rejects(c.place({ market: MARKET, side: "buy", type: "limit", price: 100, qty: 1 }), BourseClientError, (e) => assert.is(e.code, "closed"));
  await c.close(); // idempotent
});

test("buildCommand fills defaults the way the codec does (tif by order type)", () => {
  const limit = buildCommand("place", "a", { market: "M", side: "buy", type: "limit", price: 1, qty: 1, cmdId: "x" });
  assert.is(limit.tif, "GTC");
  const market = buildCommand("place", "a", { market: "M", side: "buy", type: "market", qty: 1, cmdId: "y" });
  assert.is(market.tif, "IOC");
});

test.run();
