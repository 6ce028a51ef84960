/**
 * `bourse verify` against a real node's durable state: passes on an honest
 * log, fails naming partition and sequence when the output is tampered with;
 * and the durable checks (outcomes, fills) on hand-made event streams.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { EngineEvent } from "@bourse/engine";
import { checkFills } from "../src/verify/check-fills.js";
import { checkOutcomes } from "../src/verify/check-outcomes.js";
import { checkCluster } from "../src/verify/cluster-check.js";
import { STREAM_OUT, subjects } from "../src/protocol.js";
import { startNatsServer } from "../src/local/nats-server.js";
import { NodeProcess } from "../src/local/node-process.js";
import { runBourse } from "./support/cli.js";
import { Publisher, workload } from "./support/load.js";

const P = 4;

async function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runBourse(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const h = { partition: 0, ts: 1 };
const accepted = (seq: number, inSeq: number, orderId: number, side: "buy" | "sell", qty: number): EngineEvent =>
  ({ ...h, seq, inSeq, type: "accepted", cmdId: `c${inSeq}`, account: "a", market: "M", orderId, side, orderType: "limit", price: 100, qty, tif: "GTC" });
const trade = (seq: number, inSeq: number, maker: number, taker: number, qty: number, makerRemaining: number, takerRemaining: number, takerSide: "buy" | "sell" = "buy"): EngineEvent =>
  ({ ...h, seq, inSeq, type: "trade", market: "M", tradeId: seq, price: 100, qty, takerSide, maker, makerAccount: "a", makerRemaining, taker, takerAccount: "b", takerRemaining });

test("fills: consistent trades pass; overfill, wrong remaining and wrong side are named", () => {
  const ok = [accepted(1, 1, 1, "sell", 5), accepted(2, 2, 2, "buy", 3), trade(3, 2, 1, 2, 3, 2, 0)];
  assert.equal(checkFills(0, ok), []);
  const over = [accepted(1, 1, 1, "sell", 2), accepted(2, 2, 2, "buy", 3), trade(3, 2, 1, 2, 3, -1, 0)];
  assert.equal(checkFills(0, over).map((v) => v.check), ["overfill"]);
  const remaining = [accepted(1, 1, 1, "sell", 5), accepted(2, 2, 2, "buy", 3), trade(3, 2, 1, 2, 3, 1, 0)];
  assert.equal(checkFills(0, remaining).map((v) => [v.check, v.seq]), [["remaining_mismatch", 3]]);
  const side = [accepted(1, 1, 1, "buy", 5), accepted(2, 2, 2, "buy", 3), trade(3, 2, 1, 2, 3, 2, 0)];
  assert.equal(checkFills(0, side).map((v) => v.check), ["trade_side"]);
});

test("outcomes: a repeat answered as a duplicate passes; applied twice or no outcome is named with the cmdId", () => {
  const dup: EngineEvent = { ...h, seq: 2, inSeq: 2, type: "duplicate", cmdId: "c1", account: "a", original: { result: "accepted", orderId: 1 } };
  const cmds = [{ inSeq: 1, cmdId: "c1", kind: "place" }, { inSeq: 2, cmdId: "c1", kind: "place" }];
  assert.equal(checkOutcomes(0, cmds, [accepted(1, 1, 1, "buy", 1), dup]), []);
  const twice = checkOutcomes(0, cmds, [accepted(1, 1, 1, "buy", 1), accepted(2, 2, 2, "buy", 1)]);
  assert.equal(twice.map((v) => [v.check, v.cmdId, v.inSeq]), [["applied_twice", "c1", 2]]);
  const none = checkOutcomes(0, [...cmds, { inSeq: 3, cmdId: "t", kind: "tick" }, { inSeq: 4, cmdId: "c4", kind: "cancel" }], [accepted(1, 1, 1, "buy", 1), dup]);
  assert.equal(none.map((v) => [v.check, v.cmdId]), [["no_outcome", "c4"]]);
});

test("bourse verify passes on a real node's output and names the partition and seq of a tampered batch", async () => {
  const server = await startNatsServer();
  let node: NodeProcess | undefined;
  const nc = await connect({ servers: server.url });
  try {
    node = await NodeProcess.start({ id: "v1", nats: server.url, partitions: P });
    const js = jetstream(nc);
    const pub = new Publisher(js, P);
    await pub.sendAll(workload(3, ["A", "B", "C", "D", "E"], 600));
    const end = Date.now() + 20_000;
    while ((await checkCluster(js, P)).violations.length > 0) {
      if (Date.now() > end) throw new Error(`output did not catch up:\n${node.logText().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const good = await cli(["verify", "--nats", server.url, "--json"]);
    assert.is(good.code, 0, good.out + good.err);
    const g = JSON.parse(good.out) as { passed: boolean; commands: number; partitions: number };
    assert.ok(g.passed);
    assert.is(g.partitions, P);
    assert.ok(g.commands >= 605);

    // Replay the last batch of a partition as if a stale owner wrote it again.
    await node.stop();
    const jsm = await jetstreamManager(nc);
    let p = 0;
    let last = null;
    for (; p < P && last === null; p++) last = await jsm.streams.getMessage(STREAM_OUT, { last_by_subj: subjects.out(p) }).catch(() => null);
    p--;
    assert.ok(last !== null);
    // (a new message id: the original one would be dropped by JetStream's de-duplication; and no fence)
    last.header.set("Nats-Msg-Id", "tampered");
    last.header.delete("Nats-Expected-Last-Subject-Sequence");
    await js.publish(subjects.out(p), last.data, { headers: last.header });
    const bad = await cli(["verify", "--nats", server.url]);
    assert.is(bad.code, 1, bad.out + bad.err);
    assert.match(bad.out, "FAILED");
    assert.match(bad.out, new RegExp(`\\[5 output_sequence\\] partition ${p} seq \\d+`));
    const one = await cli(["verify", "--nats", server.url, "--partition", String((p + 1) % P), "--json"]);
    assert.is(one.code, 0, one.out + one.err);
    assert.is((JSON.parse(one.out) as { partitions: number }).partitions, 1);
  } finally {
    await node?.stop();
    await nc.close();
    await server.dispose();
  }
});

test("bourse verify: bad flags and unreachable or unprovisioned servers give one-line errors", async () => {
  const usage = await cli(["verify", "--nats", "nats://127.0.0.1:4333", "--partition", "x"]);
  assert.is(usage.code, 2);
  assert.match(usage.err, "--partition");
  const server = await startNatsServer();
  try {
    const empty = await cli(["verify", "--nats", server.url]);
    assert.is(empty.code, 1);
    assert.match(empty.err, /not provisioned/);
    assert.is(empty.err.trim().split("\n").length, 1);
    const port = server.port;
    await server.stop();
    const down = await cli(["verify", "--nats", `nats://127.0.0.1:${port}`]);
    assert.is(down.code, 1);
    assert.match(down.err, "--nats");
  } finally {
    await server.dispose();
  }
});

test.run();
