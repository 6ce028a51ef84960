import fc from "fast-check";
import { Packr } from "msgpackr";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cmdHash, isPackableUuid, packUuid, uuidEquals, uuidText, wordsHash } from "../src/cmd-id.js";
import { IdempotencyIndex } from "../src/idempotency-index.js";
import { hashString } from "../src/string-hash.js";
import { OrderColumns } from "../src/order-columns.js";
import { MsgpackWriter } from "../src/msgpack-writer.js";

// cmdIds in 16 bytes: exactly the lowercase canonical UUIDs are packed, the text comes
// back as it went in, equality against a packed one is string equality, and the
// snapshot writer writes a packed cmdId as the bytes of its text.

const hex = "0123456789abcdef";
const uuid = fc
  .array(fc.integer({ min: 0, max: 15 }), { minLength: 32, maxLength: 32 })
  .map((ds) => ds.map((d) => hex[d]).join(""))
  .map((h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
/** A UUID with one character changed to anything (upper case, a dash moved, non-ASCII, a lone surrogate…). */
const nearUuid = fc.tuple(uuid, fc.nat({ max: 35 }), fc.integer({ min: 0, max: 0xffff })).map(([u, i, c]) => u.slice(0, i) + String.fromCharCode(c) + u.slice(i + 1));

test("a lowercase UUID packs and reads back as the same string; its equality is string equality", () => {
  const words = new Int32Array(8);
  fc.assert(
    fc.property(uuid, fc.oneof(uuid, nearUuid, fc.string({ maxLength: 40 })), (u, other) => {
      assert.ok(isPackableUuid(u));
      assert.ok(packUuid(u, words, 4));
      assert.is(uuidText(words, 4), u);
      assert.ok(uuidEquals(u, words, 4));
      assert.is(uuidEquals(other, words, 4), other === u);
    }),
    { numRuns: 2_000 },
  );
});

test("anything else is not packable and packing it writes nothing", () => {
  const words = new Int32Array(4).fill(7);
  fc.assert(
    fc.property(fc.oneof(nearUuid, fc.string({ maxLength: 40 }), uuid.map((u) => u.toUpperCase()), uuid.map((u) => `{${u}}`)), (s) => {
      const canonical = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);
      assert.is(isPackableUuid(s), canonical);
      if (!canonical) {
        assert.not.ok(packUuid(s, words, 0));
        assert.equal([...words], [7, 7, 7, 7]);
      }
    }),
    { numRuns: 2_000 },
  );
});

test("OrderColumns keeps both forms of cmdId, and writes them as msgpackr writes the string", () => {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true });
  const cols = new OrderColumns(4);
  const copy = new OrderColumns(4);
  fc.assert(
    fc.property(fc.oneof(uuid, nearUuid, fc.string({ maxLength: 60 }), fc.string({ unit: "grapheme", maxLength: 20 })), fc.nat({ max: 3 }), (cmdId, row) => {
      cols.write(row, 1, cmdId, "acct", 0, 0, 100, 1, 0);
      assert.is(cols.cmdId(row), cmdId);
      assert.ok(cols.cmdIs(row, cmdId));
      assert.not.ok(cols.cmdIs(row, `${cmdId}x`));
      copy.copy(cols, row, 3 - row);
      assert.is(copy.cmdId(3 - row), cmdId);
      assert.is(cols.cmdHash(row), cmdHash(cmdId), "a row's cmdId hashes as its text does");
      assert.is(copy.cmdHash(3 - row), cmdHash(cmdId));
      const w = new MsgpackWriter(packr, 16);
      cols.writeCmdId(w, row);
      assert.equal([...w.finish()], [...packr.pack(cmdId)]);
    }),
    { numRuns: 2_000 },
  );
  // Rows rewritten from text to packed and back leave no text behind.
  cols.write(0, 1, "text", "a", 0, 0, 1, 1, 0);
  cols.write(0, 1, "00000000-0000-4000-8000-000000000000", "a", 0, 0, 1, 1, 0);
  cols.clear(1);
  cols.clear(2);
  cols.clear(3);
  assert.is(cols.textRows, 0);
  assert.is(copy.textRows, [0, 1, 2, 3].filter((r) => !isPackableUuid(copy.cmdId(r))).length);
});

test("cmdHash is wordsHash of a packable UUID's words and hashString of anything else: 30 bits, never 0", () => {
  const words = new Int32Array(4);
  fc.assert(
    fc.property(fc.oneof(uuid, nearUuid, fc.string({ maxLength: 60 })), (cmdId) => {
      const h = cmdHash(cmdId);
      assert.ok(Number.isInteger(h) && h > 0 && h < 2 ** 30, cmdId);
      if (packUuid(cmdId, words, 0)) assert.is(h, wordsHash(words, 0));
      else assert.is(h, hashString(cmdId));
    }),
    { numRuns: 2_000 },
  );
  // Sequential UUIDs (a client counting in the last group) spread over the tag's top bits,
  // which SlotTable keeps: 4,096 of them fill most of 4,096 buckets of the top 12 bits.
  const buckets = new Set<number>();
  for (let i = 0; i < 4_096; i++) buckets.add((Math.imul(cmdHash(`00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`), 0x9e3779b1) >>> 0) >>> 20);
  assert.ok(buckets.size > 2_400, `${buckets.size} buckets of 4,096`);
});

test("an order's finished entry copied from its row is the entry its cmdId's text makes", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(uuid, fc.string({ minLength: 1, maxLength: 40 })), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 50 }), (ids, max) => {
      const unique = [...new Set(ids)];
      const cols = new OrderColumns(unique.length);
      const fromRows = new IdempotencyIndex(max);
      const fromText = new IdempotencyIndex(max);
      unique.forEach((id, row) => {
        cols.write(row, row + 1, id, "acct", 0, 0, 100, 1, 0);
        fromRows.addFinishedOrder(cols, row, cols.cmdHash(row), -(row + 1));
        fromText.addFinished(id, cmdHash(id), -(row + 1));
      });
      assert.is(fromRows.finished, fromText.finished);
      for (let i = 0; i < fromRows.finished; i++) {
        assert.is(fromRows.finishedKey(i), fromText.finishedKey(i));
        assert.is(fromRows.finishedValue(i), fromText.finishedValue(i));
      }
      for (const id of unique) assert.is(fromRows.get(id, cmdHash(id)), fromText.get(id, cmdHash(id)), id);
      // A snapshot's entries restored by key (hashed as packed) are the same entries too.
      const restored = new IdempotencyIndex(max);
      for (let i = 0; i < fromText.finished; i++) restored.restoreKey(fromText.finishedKey(i), fromText.finishedValue(i));
      restored.restoreKey(unique[0]!, 7); // present or not, as restore does
      const reference = new IdempotencyIndex(max);
      for (let i = 0; i < fromText.finished; i++) reference.restore(fromText.finishedKey(i), cmdHash(fromText.finishedKey(i)), fromText.finishedValue(i));
      reference.restore(unique[0]!, cmdHash(unique[0]!), 7);
      assert.is(restored.finished, reference.finished);
      for (let i = 0; i < restored.finished; i++) {
        assert.is(restored.finishedKey(i), reference.finishedKey(i));
        assert.is(restored.finishedValue(i), reference.finishedValue(i));
      }
      for (const id of unique) assert.is(restored.get(id, cmdHash(id)), reference.get(id, cmdHash(id)), id);
    }),
    { numRuns: 500 },
  );
});

test.run();
