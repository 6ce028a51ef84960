import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from "@nats-io/jetstream";
import { AckPublisherClosedError, AckTimeoutError, JsAckPublisher, NoStreamError, parseAck } from "../src/partition/ack-publisher.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";

let server: NatsServerHandle;
let nc: NatsConnection;

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ACKS", subjects: ["acks.>"] });
});

test.after(async () => {
  await nc?.close();
  await server?.dispose();
});

function h(msgId: string, expectLastSubjectSeq?: number) {
  const x = headers();
  x.set("Nats-Msg-Id", msgId);
  if (expectLastSubjectSeq !== undefined) x.set("Nats-Expected-Last-Subject-Sequence", String(expectLastSubjectSeq));
  return x;
}

test("publishes are acknowledged with their stream sequence; a repeated message id is a duplicate", async () => {
  const acks = new JsAckPublisher(nc);
  const [a, b] = await Promise.all([
    acks.publish("acks.a", Uint8Array.of(1), h("m1"), 2000),
    acks.publish("acks.b", Uint8Array.of(2), h("m2"), 2000),
  ]);
  assert.is(a.stream, "ACKS");
  assert.is(a.duplicate, false);
  assert.is(b.seq, a.seq + 1);
  const again = await acks.publish("acks.a", Uint8Array.of(1), h("m1"), 2000);
  assert.is(again.duplicate, true);
  assert.is(again.seq, a.seq);
  assert.is(acks.inFlight, 0);
  acks.close();
});

test("a failed expectation is nats.js's JetStreamApiError with its code, as js.publish throws it", async () => {
  const acks = new JsAckPublisher(nc);
  const first = await acks.publish("acks.fenced", Uint8Array.of(1), h("f1", 0), 2000);
  await acks.publish("acks.fenced", Uint8Array.of(2), h("f2", first.seq), 2000);
  const err = await acks.publish("acks.fenced", Uint8Array.of(3), h("f3", first.seq), 2000).then(() => null, (e: unknown) => e);
  assert.instance(err, JetStreamApiError);
  assert.is((err as JetStreamApiError).code, JetStreamApiCodes.StreamWrongLastSequence);
  acks.close();
});

test("no stream on the subject: NoStreamError at once, not a timeout", async () => {
  const acks = new JsAckPublisher(nc);
  const started = performance.now();
  const err = await acks.publish("nostream.x", Uint8Array.of(1), h("n1"), 5000).then(() => null, (e: unknown) => e);
  assert.instance(err, NoStreamError);
  assert.ok(performance.now() - started < 2000);
  acks.close();
});

test("no answer in time: AckTimeoutError; close rejects what still waits and refuses new publishes", async () => {
  const acks = new JsAckPublisher(nc);
  // A plain subscriber answers nothing: the publish waits for an ack that never comes.
  const silent = nc.subscribe("silent.x", { callback: () => {} });
  await nc.flush();
  const err = await acks.publish("silent.x", Uint8Array.of(1), h("s1"), 150).then(() => null, (e: unknown) => e);
  assert.instance(err, AckTimeoutError);
  const waiting = acks.publish("silent.x", Uint8Array.of(2), h("s2"), 10_000);
  assert.is(acks.inFlight, 1);
  acks.close();
  assert.instance(await waiting.then(() => null, (e: unknown) => e), AckPublisherClosedError);
  assert.instance(await acks.publish("acks.a", Uint8Array.of(1), h("s3"), 1000).then(() => null, (e: unknown) => e), AckPublisherClosedError);
  silent.unsubscribe();
});

test("a failed inbox subscription (permissions) rejects what waits at once, and the next publish subscribes again", async () => {
  const denied = await startNatsServer({
    config: `authorization { users = [ { user: admin, password: pw }, { user: noinbox, password: pw, permissions: { subscribe: { deny: ["_INBOX.>"] } } } ] }`,
  });
  const admin = await connect({ servers: denied.url, user: "admin", pass: "pw" });
  const limited = await connect({ servers: denied.url, user: "noinbox", pass: "pw" });
  try {
    await (await jetstreamManager(admin)).streams.add({ name: "DENIED", subjects: ["denied.>"] });
    const acks = new JsAckPublisher(limited);
    for (const id of ["d1", "d2"]) {
      const started = performance.now();
      const err = await acks.publish("denied.x", Uint8Array.of(1), h(id), 5_000).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof Error && !(err instanceof AckTimeoutError) && !(err instanceof AckPublisherClosedError), `${id}: ${String(err)}`);
      assert.match(String(err), /permission/i);
      assert.ok(performance.now() - started < 3_000, "rejected when the subscription failed, not at the timeout");
    }
    assert.is(acks.inFlight, 0);
    acks.close();
  } finally {
    await limited.close();
    await admin.close();
    await denied.dispose();
  }
});

test("parseAck: acks, errors and garbage", () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  assert.equal(parseAck(enc({ stream: "S", seq: 7 })), { stream: "S", seq: 7, duplicate: false });
  assert.equal(parseAck(enc({ stream: "S", seq: 7, duplicate: true, domain: "d" })), { stream: "S", seq: 7, duplicate: true, domain: "d" });
  assert.throws(() => parseAck(enc({ error: { code: 503, err_code: 10039, description: "jetstream not enabled" } })), (e: unknown) => e instanceof JetStreamApiError && e.code === 10039);
  assert.throws(() => parseAck(enc({ stream: "", seq: 0 })), /invalid ack response/);
  assert.throws(() => parseAck(new TextEncoder().encode("{not json")), /unreadable ack response/);
});

test.run();
