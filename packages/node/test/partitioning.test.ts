import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  fnv1a32,
  fnv1a32Bytes,
  partitionOf,
  InvalidPartitionCountError,
  PARTITION_TEST_VECTORS,
  PARTITIONS_MAX,
} from "../src/partitioning.js";

/** Slow but obviously right: exact BigInt arithmetic, reduced mod 2^32 each step. */
function fnv1a32Reference(bytes: Uint8Array): number {
  let h = 2166136261n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 16777619n) & 0xffffffffn;
  return Number(h);
}

test("standard FNV-1a 32 vectors", () => {
  assert.is(fnv1a32(""), 0x811c9dc5);
  assert.is(fnv1a32("a"), 0xe40c292c);
  assert.is(fnv1a32("foobar"), 0xbf9cf968);
});

test("published vectors: bytes, hash and partition for P=64", () => {
  assert.ok(PARTITION_TEST_VECTORS.length >= 8);
  for (const v of PARTITION_TEST_VECTORS) {
    assert.is(Buffer.from(v.market, "utf8").toString("hex"), v.utf8Hex, `bytes of ${v.market}`);
    assert.is(fnv1a32(v.market), v.fnv1a32, `hash of ${v.market}`);
    assert.is(partitionOf(v.market, 64), v.partition64, `partition of ${v.market}`);
    assert.is(v.fnv1a32 % 64, v.partition64);
  }
});

test("no Unicode normalization: precomposed and decomposed café differ", () => {
  assert.is.not(fnv1a32("caf\u00e9"), fnv1a32("cafe\u0301"));
});

test("hash equals the BigInt reference over UTF-8 bytes (property)", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => {
      const bytes = new Uint8Array(Buffer.from(s, "utf8"));
      const h = fnv1a32(s);
      assert.is(h, fnv1a32Reference(bytes));
      assert.is(h, fnv1a32Bytes(bytes));
      assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      assert.is(fnv1a32Bytes(bytes), fnv1a32Reference(bytes));
    }),
  );
});

test("lone surrogates hash as U+FFFD, like TextEncoder and Buffer", () => {
  for (const s of ["\ud800", "a\udc00b", "x\ud83d", "\udc00\ud800", "\ud83d\ude80"]) {
    assert.is(fnv1a32(s), fnv1a32Reference(new TextEncoder().encode(s)), JSON.stringify(s));
  }
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 }), (units) => {
      const s = String.fromCharCode(...units);
      assert.is(fnv1a32(s), fnv1a32Reference(new TextEncoder().encode(s)));
    }),
    { numRuns: 2000 },
  );
});

test("seed continues a hash: fnv(a ++ b) = fnv(b, fnv(a))", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (a, b) => {
      assert.is(fnv1a32(b, fnv1a32(a)), fnv1a32(a + b));
    }),
  );
});

test("partitionOf is in range for any P", () => {
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 1, max: PARTITIONS_MAX }), (m, p) => {
      const part = partitionOf(m, p);
      assert.ok(Number.isInteger(part) && part >= 0 && part < p);
    }),
  );
  assert.is(partitionOf("anything", 1), 0);
});

test("invalid partition counts are typed errors", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, PARTITIONS_MAX + 1]) {
    try {
      partitionOf("SKU-1", bad);
      assert.unreachable(`P=${bad} accepted`);
    } catch (e) {
      assert.instance(e, InvalidPartitionCountError);
      const err = e as InvalidPartitionCountError;
      assert.is(err.name, "InvalidPartitionCountError");
      assert.is(err.code, "invalid_partition_count");
    }
  }
});

test.run();
