/**
 * `bourse status`, run as the CLI process an operator runs, against a real nats-server:
 * a bad or unreachable --nats, a server never provisioned, a provisioned cluster with
 * commands but no node (lag counted, no live member), and two real `bourse node`
 * processes: both live, every partition held by its assigned owner, lag 0 once the
 * load settles; after kill -9 of one, its partitions' failovers and one live member.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { encodeCommand } from "@bourse/engine";
import { partitionOf } from "../src/partitioning.js";
import { KV_MEMBERS, subjects } from "../src/protocol.js";
import { Kvm } from "@nats-io/kv";
import { startNatsServer } from "../src/local/nats-server.js";
import type { ClusterStatus } from "../src/status/model.js";
import { leaseHistory, type LeaseRevision } from "../src/status/lease-history.js";
import { clusterProblems, partitionProblems } from "../src/status/problems.js";
import { provisionForTest } from "./support/provisioned.js";
import { Publisher, workload } from "./support/load.js";
import { RealCluster } from "./support/real-cluster.js";

const BIN = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
const P = 8;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function bourse(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function statusJson(url: string): Promise<ClusterStatus> {
  const r = await bourse("status", "--nats", url, "--json");
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim().split("\n").length, 1, "one JSON object on one line");
  return JSON.parse(r.stdout) as ClusterStatus;
}

function oneLine(r: Run): void {
  assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
  assert.is(r.stdout, "");
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

test("lease history: first holder, handover after a release, failover without one, a retake by the same holder is no change", () => {
  const at = (s: number): Date => new Date(Date.UTC(2030, 0, 1, 0, 0, s));
  const rev = (partition: number, revision: number, owner: string | undefined): LeaseRevision => ({ partition, revision, at: at(revision), owner });
  const h = leaseHistory(
    [rev(0, 1, "a"), rev(1, 2, "a"), rev(0, 3, undefined), rev(0, 4, "b"), rev(1, 5, "c"), rev(1, 6, undefined), rev(1, 7, "c"), rev(0, 8, undefined)],
    32,
  );
  assert.equal(
    h.changes.map((c) => [c.partition, c.from, c.to, c.kind, c.epoch]),
    [[0, "b", null, "released", 8], [1, "a", "c", "failover", 5], [0, "a", "b", "handover", 4], [1, null, "a", "first", 2], [0, null, "a", "first", 1]],
  );
  assert.is(h.holders.get(0), undefined, "released: nobody holds it");
  assert.equal(h.holders.get(1), { owner: "c", epoch: 7, at: at(7).toISOString() });
  // As many revisions as the bucket keeps: the oldest is only where the changes start.
  const truncated = leaseHistory([rev(3, 10, "a"), rev(3, 11, "b")], 2);
  assert.equal(truncated.changes.map((c) => [c.from, c.to, c.kind]), [["a", "b", "failover"]]);
});

test("problems: owner not live, lease held by another, lease unheld, no table; grouped by partitions", () => {
  const lease = (owner: string) => ({ owner, epoch: 5, at: "2030-01-01T00:00:00.000Z" });
  const live = new Set(["a", "b"]);
  assert.equal(partitionProblems("a", lease("a"), live), []);
  assert.equal(partitionProblems("a", lease("b"), live), ["assigned to a but lease held by b"]);
  assert.equal(partitionProblems("a", null, live), ["assigned to a but lease unheld"]);
  assert.equal(partitionProblems("c", lease("c"), live), ["assigned to c, which is not live"]);
  assert.equal(partitionProblems(null, null, live), ["unassigned, lease unheld"]);
  const partitions = [0, 1, 2, 3, 5, 7].map((partition) => ({ partition, problems: partition === 5 ? ["assigned to c, which is not live"] : ["unassigned, lease unheld"] }));
  assert.equal(clusterProblems({ liveMembers: 0, hasAssignment: true, partitions }), [
    "no live member: no node is running (or none can reach NATS)",
    "partitions 0-3, 7: unassigned, lease unheld",
    "partition 5: assigned to c, which is not live",
  ]);
});

test("a bad --nats is a usage error naming it (exit 2); an unreachable one, or one without JetStream, fails naming it (exit 1)", async () => {
  for (const bad of ["http://127.0.0.1:4333", "nats://127.0.0.1:99999", "nats://", ","]) {
    const r = await bourse("status", "--nats", bad);
    assert.is(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /^bourse: --nats must be /);
    oneLine(r);
  }
  const started = Date.now();
  const r = await bourse("status", "--nats", `nats://127.0.0.1:${await closedPort()}`);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^bourse status: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: .*\(check --nats\)$/m);
  oneLine(r);
  assert.ok(Date.now() - started < 10_000, "fails fast");

  const plain = await startNatsServer({ jetstream: false });
  try {
    const r = await bourse("status", "--nats", plain.url);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /^bourse status: JetStream is not enabled on the nats-server at 127\.0\.0\.1:\d+, so it holds no Bourse cluster \(check --nats\)$/m);
    oneLine(r);
  } finally {
    await plain.dispose();
  }
});

test("a server never provisioned: says so (exit 1); provisioned with commands and no node: lag counted, no live member", async () => {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    const r = await bourse("status", "--nats", server.url);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /^bourse status: no Bourse cluster on nats:\/\/127\.0\.0\.1:\d+: it was never provisioned/);
    oneLine(r);

    await provisionForTest(nc, P);
    const js = jetstream(nc);
    const market = "SKU-1";
    const p = partitionOf(market, P);
    for (let i = 0; i < 3; i++) {
      const cmd = { kind: "place", cmdId: `s-${i}`, account: "a1", market, side: "buy", type: "limit", price: 1_000, qty: 1, tif: "GTC" } as const;
      await js.publish(subjects.in(p, market, "a1"), encodeCommand(cmd), { msgID: cmd.cmdId });
    }
    const s = await statusJson(server.url);
    assert.is(s.cluster.partitions, P);
    assert.equal(s.members, []);
    assert.is(s.assignment, null);
    assert.is(s.partitions.length, P);
    const mine = s.partitions[p]!;
    assert.is(mine.inSeq, 3);
    assert.is(mine.durableInSeq, 0);
    assert.is(mine.lag, 3);
    assert.ok(s.partitions.every((x) => x.partition === p || x.lag === 0));
    assert.ok(s.problems.some((l) => l.startsWith("no live member")), s.problems.join("\n"));
    assert.ok(s.problems.some((l) => l.startsWith("no assignment table")), s.problems.join("\n"));
    assert.equal(s.ownerChanges, []);
    assert.is(s.streams.find((x) => x.name === "BOURSE_IN")?.messages, 3);

    // A member heartbeating a record that says it is leaving (a node handing off after SIGTERM).
    const members = await new Kvm(nc).open(KV_MEMBERS);
    const record = JSON.stringify({ id: "x1", startedAt: Date.now(), info: {}, leaving: true });
    const beat = setInterval(() => void members.put("x1", record).catch(() => {}), 100);
    try {
      await members.put("x1", record);
      const leaving = await statusJson(server.url);
      assert.equal(leaving.members.map((m) => [m.id, m.live, m.leaving]), [["x1", true, true]]);
      const text = await bourse("status", "--nats", server.url);
      assert.match(text.stdout, /^\s+x1\s+leaving\s/m);
    } finally {
      clearInterval(beat);
    }

    const slow = await bourse("status", "--nats", server.url, "--timeout-ms", "1");
    assert.is(slow.code, 1, slow.stderr);
    assert.match(slow.stderr, /^bourse status: nats:\/\/127\.0\.0\.1:\d+: could not read the cluster's state within 1 ms \(--timeout-ms\)$/m);
    oneLine(slow);
  } finally {
    await nc.close().catch(() => {});
    await server.dispose();
  }
});

test("two nodes: both live, every partition held by its owner, lag 0; after kill -9 the failovers and one live member", async () => {
  const cluster = await RealCluster.start({ nodes: ["n1", "n2"], partitions: P });
  try {
    const pub = new Publisher(cluster.js, P);
    await pub.sendAll(workload(7, ["M0", "M1", "M2", "M3", "M4", "M5"], 300));

    let s = await statusJson(cluster.url);
    const settleBy = Date.now() + 15_000;
    while (s.partitions.some((p) => p.lag > 0) && Date.now() < settleBy) {
      await new Promise((r) => setTimeout(r, 200));
      s = await statusJson(cluster.url);
    }
    assert.equal(s.members.map((m) => [m.id, m.live, m.leaving]), [["n1", true, false], ["n2", true, false]]);
    assert.equal(s.assignment?.members, ["n1", "n2"]);
    for (const p of s.partitions) {
      assert.ok(p.assigned === "n1" || p.assigned === "n2", `partition ${p.partition} assigned to ${p.assigned}`);
      assert.is(p.lease?.owner, p.assigned, `partition ${p.partition}: lease`);
      assert.is(p.lag, 0, `partition ${p.partition}: lag`);
      assert.equal(p.problems, []);
    }
    assert.equal(s.problems, []);
    assert.ok(s.partitions.reduce((n, p) => n + p.inSeq, 0) > 0, "commands were logged");
    assert.ok(s.server.version.length > 0);
    const n2Partitions = s.partitions.filter((p) => p.assigned === "n2").map((p) => p.partition);
    assert.ok(n2Partitions.length > 0, "n2 owns partitions");

    const text = await bourse("status", "--nats", cluster.url);
    assert.is(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Members: 2 live of 2/m);
    assert.match(text.stdout, new RegExp(`^Partitions: ${P} of ${P} held by their live assigned owner; total lag 0`, "m"));
    assert.match(text.stdout, /^Problems: none$/m);

    const killedAt = Date.now();
    await cluster.kill9("n2");
    await cluster.waitServed(15_000, ["n1"]);
    s = await statusJson(cluster.url);
    assert.equal(s.members.filter((m) => m.live).map((m) => m.id), ["n1"]);
    for (const p of n2Partitions) {
      const change = s.ownerChanges.find((c) => c.partition === p && c.kind === "failover");
      assert.ok(change, `partition ${p}: failover listed in ${JSON.stringify(s.ownerChanges)}`);
      assert.is(change.from, "n2");
      assert.is(change.to, "n1");
      assert.is(change.epoch, s.partitions[p]!.lease?.epoch);
      assert.ok(Date.parse(change.at) >= killedAt - 1_000, `partition ${p}: changed at ${change.at}, after the kill`);
    }
    assert.ok(s.partitions.every((p) => p.assigned === "n1" && p.lease?.owner === "n1"));
    assert.equal(s.problems, []);

    const after = await bourse("status", "--nats", cluster.url);
    assert.is(after.code, 0, after.stderr);
    assert.match(after.stdout, /^Members: 1 live of [12]/m);
    assert.match(after.stdout, /\bn2\s+n1\s+failover\b/);
  } catch (e) {
    process.stderr.write(`status.test: node logs in ${cluster.dumpLogs()}\n`);
    throw e;
  } finally {
    await cluster.dispose();
  }
});

test.run();
