/**
 * The publisher client where no node is needed: input validation, connecting, publishing to
 * the command log (subject, Nats-Msg-Id, retries with the same id when an ack is lost), what a
 * command does when no node answers (it times out saying it IS logged), cancelAll's fan-out as
 * logged, and close(). One real nats-server with the two streams, and no node.
 *
 * Everything that needs a node to behave like a node (reports, trades, amend/cancel, queries,
 * duplicates, cancelAll's effect, the CLI) runs against real `bourse node` processes in
 * client-e2e.test.ts; faults a real node does not produce on demand, in client-reports.test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { rejects } from "./support/assert-rejects.js";
import { connect, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { decodeCommand } from "@bourse/engine";
import { BourseClient } from "../src/client/bourse-client.js";
import { buildCommand } from "../src/client/commands.js";
import {
  BourseClientError,
  BoursePublishError,
  BourseReportTimeoutError,
  BourseValidationError,
} from "../src/client/errors.js";
import { publishCommand, type JsPublisher, type PublishPolicy } from "../src/client/publish.js";
import { partitionOf } from "../src/partitioning.js";
import { CLUSTER_CONFIG_KEY, KV_CLUSTER, STREAM_IN, STREAM_OUT, headers, subjects } from "../src/protocol.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";

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
  // Only the two streams, not provision(): a test below needs a server without the cluster config.
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

test("without the partitions option and without a cluster config, connect fails naming the option", async () => {
  // Reading the partition count that real nodes wrote is tested in client-e2e.test.ts.
  await rejects(BourseClient.connect({ servers: server.url, account: "acct-kv" }), BourseClientError, (e) => {
    assert.is(e.code, "config_unavailable");
    assert.match(e.message, /partitions option/);
    assert.match(e.message, new RegExp(`${KV_CLUSTER}/${CLUSTER_CONFIG_KEY}`));
  });
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

// ------------------------------------------------------------------ cancelAll (what is logged; its effect: client-e2e)

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
