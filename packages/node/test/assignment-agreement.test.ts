import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { diff, partitionsOf } from "../src/assignment.js";
import { AgreementError, AssignmentAgreement, type AssignmentTable, type UpdateResult } from "../src/assignment-agreement.js";
import { Membership } from "../src/membership.js";
import { ASSIGNMENT_KEY, KV_LEASES, KV_MEMBERS } from "../src/protocol.js";
import { startNatsServer } from "../src/local/nats-server.js";

const P = 64;
const HEARTBEAT_MS = 100;
const TIMEOUT_MS = 600;

interface Env {
  leases: KV[];
  members: KV[];
}

/** One server, `n` connections, both buckets; always torn down. */
async function withEnv(n: number, fn: (env: Env) => Promise<void>): Promise<void> {
  const server = await startNatsServer();
  const ncs: NatsConnection[] = [];
  try {
    for (let i = 0; i < n; i++) ncs.push(await connect({ servers: server.url, name: `agreement-test-${i}` }));
    const kvm = new Kvm(ncs[0]!);
    await kvm.create(KV_MEMBERS, { history: 1, ttl: 5_000 });
    await kvm.create(KV_LEASES, { history: 1 });
    const leases = await Promise.all(ncs.map((nc) => new Kvm(nc).open(KV_LEASES)));
    const members = await Promise.all(ncs.map((nc) => new Kvm(nc).open(KV_MEMBERS)));
    await fn({ leases, members });
  } finally {
    await Promise.allSettled(ncs.map((nc) => nc.close()));
    await server.dispose();
  }
}

async function until(what: string, pred: () => boolean, msTimeout = 3_000): Promise<void> {
  const deadline = performance.now() + msTimeout;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** All agreements hold the same revision, computed for `members`. */
function agreeOn(agreements: AssignmentAgreement[], members: string[]): boolean {
  const tables = agreements.map((a) => a.current());
  const first = tables[0];
  return !!first && first.members.join() === members.join() && tables.every((t) => t?.revision === first.revision);
}

/** Every partition has exactly one owner among the agreements, and loads differ by at most one. */
function assertPartitioned(agreements: AssignmentAgreement[]): void {
  const mine = agreements.map((a) => a.mine());
  const all = mine.flat().sort((x, y) => x - y);
  assert.equal(all, Array.from({ length: P }, (_, p) => p), "each partition owned exactly once");
  const loads = mine.map((m) => m.length);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `balanced: ${loads.join(",")}`);
}

interface Node {
  id: string;
  membership: Membership;
  agreement: AssignmentAgreement;
  errors: unknown[];
}

/** The wiring a node does: every membership change is an agreement update. */
async function startNode(env: Env, i: number, id: string): Promise<Node> {
  const membership = new Membership({ kv: env.members[i]!, id, heartbeatMsInterval: HEARTBEAT_MS, failureMsTimeout: TIMEOUT_MS });
  const agreement = new AssignmentAgreement({ kv: env.leases[i]!, id, partitions: P });
  const node: Node = { id, membership, agreement, errors: [] };
  await agreement.start();
  membership.on("change", (live) => void agreement.update(live).catch((e: unknown) => node.errors.push(e)));
  await membership.start();
  return node;
}

async function stopNode(n: Node): Promise<void> {
  await n.membership.stop();
  await n.agreement.stop();
}

test("three nodes driven by their memberships converge on one table; a departure moves only its partitions", async () => {
  await withEnv(3, async (env) => {
    const nodes: Node[] = [];
    try {
      for (const [i, id] of ["a", "b", "c"].entries()) nodes.push(await startNode(env, i, id));
      const agreements = nodes.map((n) => n.agreement);
      await until("all three agree on [a,b,c]", () => agreeOn(agreements, ["a", "b", "c"]));
      assertPartitioned(agreements);
      const before = agreements[0]!.current()!;
      const ofC = partitionsOf(before.owners, "c");

      // c crashes: a and b detect it and rewrite the table without it.
      const [a, b, c] = nodes as [Node, Node, Node];
      await stopNode(c);
      await until("a and b agree on [a,b]", () => agreeOn([a.agreement, b.agreement], ["a", "b"]));
      const after = a.agreement.current()!;
      assert.equal(diff(before.owners, after.owners), ofC, "exactly c's partitions moved");
      assertPartitioned([a.agreement, b.agreement]);
      // Both saw the change; one CAS won and the other found the table already right.
      assert.ok(after.revision > before.revision);
      for (const n of nodes) assert.equal(n.errors, []);
    } finally {
      await Promise.all(nodes.map(stopNode));
    }
  });
});

test("concurrent updates with the same view give one table (CAS): one write, the others find it done", async () => {
  await withEnv(3, async (env) => {
    let casLosses = 0;
    const logger = { info: (_: object, msg?: string) => void (msg?.startsWith("assignment CAS lost") && casLosses++), warn() {}, error() {} };
    const agreements = ["a", "b", "c"].map((id, i) => new AssignmentAgreement({ kv: env.leases[i]!, id, partitions: P, logger }));
    try {
      await Promise.all(agreements.map((a) => a.start()));
      const first = await Promise.all(agreements.map((a) => a.update(["c", "b", "a"])));
      assert.equal(outcomes(first), ["created", "unchanged", "unchanged"]);
      const tables = first.map(tableOf);
      assert.ok(tables.every((t) => t.revision === tables[0]!.revision && t.owners.join() === tables[0]!.owners.join()));

      // Everyone sees d join at once, then everyone sees it leave at once.
      for (const view of [["a", "b", "c", "d"], ["a", "b", "c"]]) {
        const round = await Promise.all(agreements.map((a) => a.update(view)));
        assert.equal(outcomes(round), ["unchanged", "unchanged", "updated"]);
        const revisions = new Set(round.map((r) => tableOf(r).revision));
        assert.is(revisions.size, 1, "one table, one revision");
      }
      const entry = await env.leases[0]!.get(ASSIGNMENT_KEY);
      assert.is(entry?.revision, tables[0]!.revision + 2, "three rounds, three writes");
      console.log(`  3 rounds × 3 concurrent updates: ${casLosses} CAS conflicts, 3 writes`);
      await until("watches caught up", () => agreeOn(agreements, ["a", "b", "c"]));
      assertPartitioned(agreements);
    } finally {
      await Promise.all(agreements.map((a) => a.stop()));
    }
  });
});

test("views that disagree: the writer gives nothing to members it thinks dead; the table converges when views agree", async () => {
  await withEnv(3, async (env) => {
    const [a, b, c] = ["a", "b", "c"].map((id, i) => new AssignmentAgreement({ kv: env.leases[i]!, id, partitions: P })) as [
      AssignmentAgreement,
      AssignmentAgreement,
      AssignmentAgreement,
    ];
    try {
      await Promise.all([a, b, c].map((x) => x.start()));
      const all = ["a", "b", "c"];
      const t0 = tableOf(await a.update(all));

      // a wrongly thinks c is dead: its table gives c nothing; b and c (views unchanged) do not react.
      const t1 = tableOf(await a.update(["a", "b"]));
      assert.equal(t1.members, ["a", "b"]);
      assert.not.ok(t1.owners.includes("c"));
      assert.equal(diff(t0.owners, t1.owners), partitionsOf(t0.owners, "c"));

      // c never writes a table without itself, even from a view that lacks it.
      const t2 = tableOf(await c.update(["a", "b"]));
      assert.equal(t2.members, ["a", "b", "c"]);

      // Concurrent writers with different views: the CAS loser recomputes from the winner's table.
      const raced = await Promise.all([a.update(["a", "b"]), b.update(all)]);
      for (const r of raced) assert.ok(r.outcome !== "gave_up");
      // a's view catches up: now all views agree and the table is the one for them.
      const agreed = tableOf(await a.update(all));
      assert.equal(agreed.members, all);
      for (const x of [b, c]) assert.is((await x.update(all)).outcome, "unchanged");
      await until("all agree on [a,b,c]", () => agreeOn([a, b, c], all));
      assertPartitioned([a, b, c]);
    } finally {
      await Promise.all([a, b, c].map((x) => x.stop()));
    }
  });
});

test("start() emits the current table; a table of another partition count is never overwritten", async () => {
  await withEnv(1, async (env) => {
    const kv = env.leases[0]!;
    const writer = new AssignmentAgreement({ kv, id: "a", partitions: P });
    const late = new AssignmentAgreement({ kv, id: "b", partitions: P });
    const other = new AssignmentAgreement({ kv, id: "z", partitions: P / 2 });
    try {
      await writer.start();
      const written = tableOf(await writer.update(["a", "b"]));
      const seen: AssignmentTable[] = [];
      late.on("assignment", (t) => seen.push(t));
      await late.start();
      assert.is(seen.length, 1);
      assert.is(seen[0]!.revision, written.revision);
      assert.equal(late.mine(), partitionsOf(written.owners, "b"));

      await other.start();
      const err = await other.update(["z"]).catch((e: unknown) => e);
      assert.instance(err, AgreementError);
      assert.is((err as AgreementError).code, "partition_mismatch");
      assert.is((await kv.get(ASSIGNMENT_KEY))?.revision, written.revision, "untouched");
    } finally {
      await Promise.all([writer, late, other].map((x) => x.stop()));
    }
  });
});

function outcomes(rs: UpdateResult[]): string[] {
  return rs.map((r) => r.outcome).sort();
}

function tableOf(r: UpdateResult): AssignmentTable {
  if (r.outcome === "gave_up") throw new Error("update gave up");
  return r.table;
}

test.run();
