/**
 * RollbackSpill: the node's private directory of rollback points (ADR 0001): files
 * replace one another in snapshot order, read back exactly, go with their runner and
 * their node; directories of nodes that died are swept by the next one.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PartitionEngine } from "@bourse/engine";
import { RollbackSpill } from "../src/partition/rollback-spill.js";

let root: string;
test.before.each(() => {
  root = mkdtempSync(join(tmpdir(), "bourse-spill-unit-"));
});
test.after.each(() => {
  rmSync(root, { recursive: true, force: true });
});

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

test("each write replaces the previous file; the loader reads back exactly what was written", async () => {
  const spill = RollbackSpill.open(root, 1);
  const p = spill.forPartition(3);
  const [a, b] = await Promise.all([p.write(bytes(1000, 1)), p.write(bytes(2000, 2))]);
  const files = readdirSync(spill.dir);
  assert.equal(files.length, 1, `one file per partition, got ${files.join(", ")}`);
  assert.match(files[0]!, /^p3-\d+\.snap$/);
  assert.ok(Buffer.from(b()).equals(bytes(2000, 2)), "the later write is the one kept");
  assert.throws(() => a(), /ENOENT/, "the earlier file is gone: an engine moved past it never reads it");
  await p.discard();
  assert.equal(readdirSync(spill.dir), []);
  spill.close();
  assert.not.ok(existsSync(spill.dir));
});

test("spillFrom moves an engine's rollback point to a file only when the snapshot is at least minBytes", async () => {
  const engine = new PartitionEngine({ partition: 3 });
  const snap = engine.snapshot();
  const small = RollbackSpill.open(root, snap.length + 1);
  assert.is(await small.forPartition(3).spillFrom(engine, snap), false);
  assert.is(engine.checkpointKind, "bytes");
  assert.equal(readdirSync(small.dir), []);
  small.close();
  const big = RollbackSpill.open(root, snap.length);
  assert.is(await big.forPartition(3).spillFrom(engine, snap), true);
  assert.is(engine.checkpointKind, "spilled");
  assert.is(readdirSync(big.dir).length, 1);
  big.close();
});

test("partitions keep their own files", async () => {
  const spill = RollbackSpill.open(root, 1);
  const load1 = await spill.forPartition(1).write(bytes(10, 1));
  const load2 = await spill.forPartition(2).write(bytes(20, 2));
  assert.ok(Buffer.from(load1()).equals(bytes(10, 1)));
  assert.ok(Buffer.from(load2()).equals(bytes(20, 2)));
  spill.close();
});

test("a node's directory left by a process that is gone is swept; a live one's is kept", () => {
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
  mkdirSync(join(root, `bourse-rollback-${dead}-abc`));
  mkdirSync(join(root, `bourse-rollback-${process.pid}-live`));
  mkdirSync(join(root, "unrelated"));
  const spill = RollbackSpill.open(root, 1);
  const left = readdirSync(root).sort();
  assert.not.ok(left.includes(`bourse-rollback-${dead}-abc`));
  assert.ok(left.includes(`bourse-rollback-${process.pid}-live`));
  assert.ok(left.includes("unrelated"));
  spill.close();
});

test("a directory that cannot be made is an error naming it", () => {
  assert.throws(() => RollbackSpill.open(join(root, "missing", "deeper"), 1), /ENOENT/);
});

test.run();
