import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { LeaseError, LeaseLostError, PartitionLeases, leaseKey, type LeaseLoss } from "../src/lease.js";
import { KV_LEASES } from "../src/protocol.js";
import { startNatsServer } from "../src/local/nats-server.js";

/** One server, two connections, the leases bucket; always torn down. */
async function withLeases(fn: (kvs: [KV, KV]) => Promise<void>): Promise<void> {
  const server = await startNatsServer();
  const ncs: NatsConnection[] = [];
  try {
    for (let i = 0; i < 2; i++) ncs.push(await connect({ servers: server.url, name: `lease-test-${i}` }));
    await new Kvm(ncs[0]!).create(KV_LEASES, { history: 1 });
    const kvs = await Promise.all(ncs.map((nc) => new Kvm(nc).open(KV_LEASES)));
    await fn(kvs as [KV, KV]);
  } finally {
    await Promise.allSettled(ncs.map((nc) => nc.close()));
    await server.dispose();
  }
}

/**
 * KVs whose next get() answers only once every one of them has read: both contenders
 * see the same revision before either writes, so their compare-and-sets really collide.
 * One-shot per arm(): later reads (kv.create re-reads after a conflict) pass through.
 */
function readBarrier(kvs: KV[]): { kvs: KV[]; arm: () => void } {
  let waiting: (() => void)[] | undefined;
  const get =
    (kv: KV): KV["get"] =>
    async (k, opts) => {
      const entry = await kv.get(k, opts);
      const round = waiting;
      if (round) {
        await new Promise<void>((resolve) => {
          round.push(resolve);
          if (round.length < kvs.length) return;
          waiting = undefined;
          for (const w of round) w();
        });
      }
      return entry;
    };
  return {
    kvs: kvs.map((kv) => new Proxy(kv, { get: (target, prop, recv) => (prop === "get" ? get(kv) : Reflect.get(target, prop, recv)) })),
    arm: () => void (waiting = []),
  };
}

test("acquire, isHeld, release; re-acquiring what we hold keeps the epoch; a new acquisition gets a larger one", async () => {
  await withLeases(async ([kv]) => {
    const a = new PartitionLeases({ kv, id: "a" });
    const e1 = await a.acquire(7);
    assert.ok(e1 > 0);
    assert.ok(await a.isHeld(7, e1));
    assert.is(await a.acquire(7), e1, "already ours: same epoch");
    const stored = await kv.get(leaseKey(7));
    assert.is(stored?.json<{ owner: string }>().owner, "a");

    assert.ok(await a.release(7, e1));
    assert.not.ok(await a.isHeld(7, e1), "released");
    assert.is((await kv.get(leaseKey(7)))?.operation, "DEL");
    const e2 = await a.acquire(7); // over the delete marker
    assert.ok(e2 > e1, `epoch grows: ${e1} → ${e2}`);
    assert.not.ok(await a.isHeld(7, e1));
    assert.ok(await a.isHeld(7, e2));
    assert.not.ok(await a.isHeld(8, e2), "another partition");

    for (const bad of [() => a.acquire(-1), () => a.release(7, 0), () => a.isHeld(1.5, e2)]) {
      const err = await bad().catch((e: unknown) => e);
      assert.instance(err, LeaseError);
      assert.is((err as LeaseError).code, "invalid_argument");
    }
    await a.stop();
  });
});

test("takeover bumps the epoch; the stale holder's isHeld is false and its release changes nothing", async () => {
  await withLeases(async ([kvA, kvB]) => {
    const a = new PartitionLeases({ kv: kvA, id: "a" });
    const b = new PartitionLeases({ kv: kvB, id: "b" });
    const losses: LeaseLoss[] = [];
    try {
      const ea = await a.acquire(3);
      await a.watch(3, (loss) => losses.push(loss));
      const eb = await b.acquire(3);
      assert.ok(eb > ea, `takeover: ${ea} → ${eb}`);
      assert.not.ok(await a.isHeld(3, ea), "stale holder");
      assert.ok(await b.isHeld(3, eb));
      assert.not.ok(await a.release(3, ea), "stale release is a no-op");
      assert.ok(await b.isHeld(3, eb), "still b's");

      for (let i = 0; i < 100 && losses.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(losses, [{ partition: 3, epoch: ea, revision: eb, owner: "b" }]);
      assert.not.ok(a.heldEpochs().has(3));

      // Our own release is not a loss.
      const ea2 = await a.acquire(4);
      await a.watch(4, (loss) => losses.push(loss));
      assert.ok(await a.release(4, ea2));
      await new Promise((r) => setTimeout(r, 100));
      assert.is(losses.length, 1);

      // Lost between acquire() and watch(): the late watcher is told at once.
      const ea5 = await a.acquire(5);
      const eb5 = await b.acquire(5);
      for (let i = 0; i < 100 && a.heldEpochs().has(5); i++) await new Promise((r) => setTimeout(r, 10));
      await a.watch(5, (loss) => losses.push(loss));
      assert.equal(losses[1], { partition: 5, epoch: ea5, revision: eb5, owner: "b" });
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

test("concurrent acquire by two ids: exactly one wins, the other gets LeaseLostError", async () => {
  await withLeases(async (kvs) => {
    const barrier = readBarrier(kvs);
    const [kvA, kvB] = barrier.kvs as [KV, KV];
    const a = new PartitionLeases({ kv: kvA, id: "a" });
    const b = new PartitionLeases({ kv: kvB, id: "b" });
    const c = new PartitionLeases({ kv: kvs[0], id: "c" });
    const ROUNDS = 10;
    for (let p = 0; p < ROUNDS; p++) {
      // Odd partitions start held by c: a takeover race (update); even ones start absent (create race).
      if (p % 2 === 1) await c.acquire(p);
      barrier.arm();
      const results = await Promise.allSettled([a.acquire(p), b.acquire(p)]);
      const won = results.filter((r): r is PromiseFulfilledResult<number> => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      assert.is(won.length, 1, `partition ${p}: one winner`);
      assert.is(lost.length, 1);
      const err = lost[0]!.reason as LeaseLostError;
      assert.instance(err, LeaseLostError);
      assert.is(err.name, "LeaseLostError");
      assert.is(err.code, "lease_conflict");
      assert.is(err.partition, p);
      assert.ok(err.cause, "the JetStream error is kept");
      const winner = results[0]!.status === "fulfilled" ? a : b;
      assert.ok(await winner.isHeld(p, won[0]!.value), "the winner's epoch is current");
      assert.is((await kvs[0].get(leaseKey(p)))?.json<{ owner: string }>().owner, winner.id);
    }
  });
});

test("after a release, releasedBy() gives the revision from the watch and acquire() on it takes the lease without a read; a stale revision falls back to the read", async () => {
  await withLeases(async ([kvA, kvB]) => {
    const a = new PartitionLeases({ kv: kvA, id: "a" });
    let reads = 0;
    const countingB = new Proxy(kvB, { get: (t, prop, r) => (prop === "get" ? (k: string) => (reads++, kvB.get(k)) : Reflect.get(t, prop, r)) });
    const b = new PartitionLeases({ kv: countingB, id: "b" });
    try {
      const ea = await a.acquire(4);
      assert.is(await b.releasedBy(4, "a", 100), undefined, "still held by a: not released within the wait");
      await a.release(4, ea);
      const rev = await b.releasedBy(4, "a", 2_000);
      assert.type(rev, "number");
      assert.ok(rev! > ea, "the delete marker's revision");
      reads = 0;
      const eb = await b.acquire(4, rev);
      assert.is(reads, 0, "no read: one compare-and-set on the known revision");
      assert.ok(eb > rev!);
      assert.ok(await b.isHeld(4, eb));
      // A revision that is no longer the key's: the compare-and-set fails and acquire reads and retries.
      await b.release(4, eb);
      const ea2 = await a.acquire(4);
      reads = 0;
      const eb2 = await b.acquire(4, rev);
      assert.ok(reads >= 1, "fell back to reading the key");
      assert.ok(eb2 > ea2, "took it over on the revision it read");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

test.run();
