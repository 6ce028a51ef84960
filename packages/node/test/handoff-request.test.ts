/**
 * The prepared handoff's request and reply (handoff-request.ts) against a real
 * nats-server, their parsing, and the count of preparing partitions.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "@nats-io/transport-node";
import { PreparingPartitions, answerReleases, parseReply, parseRequest, requestRelease } from "../src/handoff-request.js";
import { subjects } from "../src/protocol.js";
import { startNatsServer } from "../src/local/nats-server.js";

test("parseRequest accepts a non-negative integer partition only", () => {
  assert.is(parseRequest('{"partition":3}'), 3);
  assert.is(parseRequest('{"partition":0}'), 0);
  for (const bad of ['{"partition":-1}', '{"partition":1.5}', '{"partition":"3"}', "{}", "null", "not json", ""]) assert.is(parseRequest(bad), null, bad);
});

test("parseReply keeps what is well formed and drops what is not", () => {
  assert.equal(parseReply('{"released":true,"lastInSeq":42,"output":{"lastSeq":7,"streamSeq":9}}'), { released: true, lastInSeq: 42, output: { lastSeq: 7, streamSeq: 9 } });
  assert.equal(parseReply('{"released":true,"lastInSeq":-1,"output":{"lastSeq":7}}'), { released: true }, "a bad sequence or half a position is left out");
  assert.equal(parseReply('{"released":false,"reason":"still mine"}'), { released: false, reason: "still mine" });
  assert.is(parseReply('{"released":"yes"}'), null);
  assert.is(parseReply("garbage"), null);
});

test("a release request is answered by the node; bad requests get a reason; nobody there gives null at once", async () => {
  const server = await startNatsServer({ jetstream: false });
  const a = await connect({ servers: server.url });
  const b = await connect({ servers: server.url });
  try {
    const asked: number[] = [];
    const sub = answerReleases(a, "n1", async (p) => {
      asked.push(p);
      if (p === 13) throw new Error("flush failed");
      return p === 7 ? { released: true, lastInSeq: 100, output: { lastSeq: 5, streamSeq: 6 } } : { released: false, reason: `partition ${p} is still assigned to n1` };
    });
    await a.flush();
    assert.equal(await requestRelease(b, "n1", 7, 2_000), { released: true, lastInSeq: 100, output: { lastSeq: 5, streamSeq: 6 } });
    assert.equal(await requestRelease(b, "n1", 8, 2_000), { released: false, reason: "partition 8 is still assigned to n1" });
    assert.equal(await requestRelease(b, "n1", 13, 2_000), { released: false, reason: "release failed: flush failed" });
    const bad = await b.request(subjects.release("n1"), '{"partition":"x"}', { timeout: 2_000 });
    assert.equal(parseReply(bad.string()), { released: false, reason: 'expected {"partition": <non-negative integer>}' });
    assert.equal(asked, [7, 8, 13]);
    const t0 = performance.now();
    assert.is(await requestRelease(b, "n2", 7, 2_000), null, "no node n2: no responders");
    assert.ok(performance.now() - t0 < 1_000, "no responders is not a timeout");
    sub.unsubscribe();
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
    await server.dispose();
  }
});

test("PreparingPartitions: idle once every preparation has ended (each end counted once), or after the bound", async () => {
  const prep = new PreparingPartitions();
  await prep.idle(10_000); // none preparing: at once
  const endA = prep.begin();
  const endB = prep.begin();
  let idle = false;
  const waiting = prep.idle(10_000).then(() => (idle = true));
  endA();
  endA(); // a second call does not count twice
  await new Promise((r) => setTimeout(r, 20));
  assert.is(idle, false, "B still preparing");
  assert.is(prep.preparing, 1);
  endB();
  await waiting;
  assert.is(idle, true);
  prep.begin();
  const t0 = performance.now();
  await prep.idle(50);
  assert.ok(performance.now() - t0 >= 45, "bounded wait");
});

test.run();
