import { test } from "uvu";
import * as assert from "uvu/assert";
import { SnapshotGate } from "../src/partition/snapshot-gate.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test("one work at a time, in arrival order", async () => {
  const gate = new SnapshotGate();
  const log: string[] = [];
  let running = 0;
  const holds = [deferred(), deferred(), deferred()];
  const runs = holds.map((h, i) =>
    gate.run(async () => {
      running++;
      assert.is(running, 1, "never two at once");
      log.push(`start ${i}`);
      await h.promise;
      log.push(`end ${i}`);
      running--;
      return i;
    }),
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(log, ["start 0"]);
  assert.is(gate.queued, 2);
  holds[2]!.resolve();
  holds[1]!.resolve();
  await new Promise((r) => setImmediate(r));
  assert.equal(log, ["start 0"], "later works wait even when ready");
  holds[0]!.resolve();
  assert.equal(await Promise.all(runs), [0, 1, 2]);
  assert.equal(log, ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
  assert.is(gate.queued, 0);
});

test("the turn passes on at a later turn of the event loop, so I/O and timers run between works", async () => {
  const gate = new SnapshotGate();
  const log: string[] = [];
  const first = gate.run(async () => {
    log.push("first");
  });
  const second = gate.run(async () => {
    log.push("second");
  });
  setImmediate(() => log.push("other work"));
  await Promise.all([first, second]);
  assert.equal(log, ["first", "other work", "second"]);
});

test("a work that throws passes the turn on, and its caller gets the error", async () => {
  const gate = new SnapshotGate();
  const failing = gate.run(() => Promise.reject(new Error("encode failed")));
  const next = gate.run(() => Promise.resolve("next ran"));
  const err = await failing.then(() => null, (e: Error) => e);
  assert.is(err?.message, "encode failed");
  assert.is(await next, "next ran");
  assert.is(await gate.run(() => Promise.resolve(7)), 7, "free again afterwards");
});

test.run();
