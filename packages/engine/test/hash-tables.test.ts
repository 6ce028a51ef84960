import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Packr, unpack } from "msgpackr";
import { IdMap } from "../src/id-map.js";
import { IdempotencyIndex, type IdempotencyEntry } from "../src/idempotency-index.js";
import { MsgpackWriter } from "../src/msgpack-writer.js";
import { hashString } from "../src/string-hash.js";
import { SlotTable } from "../src/slot-table.js";

/** An index's finished keys, oldest first. */
const finishedOf = (idx: IdempotencyIndex): string[] => Array.from({ length: idx.finished }, (_, i) => idx.finishedKey(i));

// The open-addressing tables against V8's Map, on random operation sequences over
// small key spaces (so that probe runs, wrap-around, backward-shift deletion,
// growth and shrinking all happen).

type Op = { op: "set" | "add" | "delete" | "get"; key: number; value: number };

const ops = (keys: number) =>
  fc.array(
    fc.record({
      op: fc.constantFrom("set", "set", "add", "delete", "delete", "get") as fc.Arbitrary<Op["op"]>,
      key: fc.integer({ min: 0, max: keys - 1 }),
      value: fc.integer({ min: 1, max: 1_000 }),
    }),
    { maxLength: 600 },
  );

test("IdMap behaves like a Map of non-zero ids", () => {
  // Dense ids (as order ids are), a few huge ones (both 32-bit halves hashed), negatives.
  const idOf = (k: number) => (k < 150 ? k + 1 : k < 190 ? 2 ** 40 + k * 2 ** 32 : -k);
  fc.assert(
    fc.property(ops(200), (seq) => {
      const m = new IdMap<number>();
      const model = new Map<number, number>();
      for (const { op, key, value } of seq) {
        const id = idOf(key);
        if (op === "set" || op === "add") {
          m.set(id, value);
          model.set(id, value);
        } else if (op === "delete") {
          assert.is(m.delete(id), model.delete(id));
        }
        assert.is(m.get(id), model.get(id));
        assert.is(m.size, model.size);
      }
      for (const [k, v] of model) assert.is(m.get(k), v);
      for (let k = 0; k < 200; k++) assert.is(m.has(idOf(k)), model.has(idOf(k)));
      assert.is(m.get(0), undefined);
      assert.is(m.delete(0), false);
    }),
    { numRuns: 400 },
  );
});

test("hashString is FNV-1a reduced to 30 bits, never 0", () => {
  assert.is(hashString(""), 0x811c9dc5 >>> 2);
  assert.is(hashString("a"), 0xe40c292c >>> 2);
  for (const s of ["c1", "c123456", "\u{1F600}", "x".repeat(128)]) {
    const h = hashString(s);
    assert.ok(Number.isInteger(h) && h > 0 && h < 2 ** 30, s);
  }
});

/**
 * Key `n` of the idempotency tests, in each form a cmdId takes: a plain string, lowercase
 * UUIDs (kept packed; two families, so that packed keys differ in different words) and an
 * uppercase one (not packable: kept as text).
 */
function cmdKey(n: number): string {
  const hex = (v: number, digits: number) => v.toString(16).padStart(digits, "0");
  switch (n % 4) {
    case 0:
      return `k${n}`;
    case 1:
      return `${hex(n, 8)}-0000-4000-8000-${hex(7 * n, 12)}`;
    case 2:
      return `0000abcd-${hex(n, 4)}-4000-8000-00000000000${n % 10}`;
    default:
      return `${hex(n, 8)}-0000-4000-8000-0000000000ab`.toUpperCase();
  }
}

/** Value `n` of the idempotency tests: an order id (either sign) or, one in five, a rejection's outcome. */
function entryOf(n: number): IdempotencyEntry {
  if (n % 5 === 0) return { result: "rejected", orderId: 0, code: "invalid_value" };
  return n % 2 === 0 ? n : -n;
}

test("IdempotencyIndex behaves like a map whose entries beyond the bound are evicted oldest first", () => {
  type Step = { op: "addFinished" | "restore" | "get"; key: number; value: number };
  const steps = fc.array(
    fc.record({
      op: fc.constantFrom("addFinished", "addFinished", "addFinished", "restore", "get") as fc.Arbitrary<Step["op"]>,
      key: fc.integer({ min: 0, max: 80 }),
      value: fc.integer({ min: 1, max: 1_000 }),
    }),
    { maxLength: 500 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 70 }), steps, fc.boolean(), (max, seq, collide) => {
      // Any hash consistent with the key works; a 2-bit one forces long probe runs.
      const hash = (k: string) => (collide ? (hashString(k) & 3) + 1 : hashString(k));
      const idx = new IdempotencyIndex(max);
      const model = new Map<string, IdempotencyEntry>();
      const finished: string[] = [];
      const evict = () => {
        while (finished.length > max) model.delete(finished.shift()!);
      };
      for (const { op, key, value } of seq) {
        const k = cmdKey(key);
        const h = hash(k);
        const known = model.has(k);
        const v = entryOf(value);
        switch (op) {
          case "addFinished":
            assert.is(idx.addFinished(k, h, v), !known);
            if (!known) {
              model.set(k, v);
              finished.push(k);
              evict();
            }
            break;
          case "restore": // restoring: nothing evicted until the next add; a key present takes the new value in place
            idx.restore(k, h, v);
            model.set(k, v);
            if (!known) finished.push(k);
            break;
          case "get":
            break;
        }
        assert.equal(idx.get(k, h), model.get(k));
        assert.is(idx.finished, model.size);
      }
      assert.equal(finishedOf(idx), finished);
      for (let i = 0; i < idx.finished; i++) assert.equal(idx.finishedValue(i), model.get(idx.finishedKey(i)), "each finished value is the model's");
      for (let key = 0; key <= 80; key++) assert.equal(idx.get(cmdKey(key), hash(cmdKey(key))), model.get(cmdKey(key)));

      const reserved = new IdempotencyIndex(max);
      reserved.reserve(finished.length);
      for (const k of finished) reserved.restore(k, hash(k), model.get(k)!);
      reserved.reserve(1); // smaller than held: nothing changes
      assert.equal(finishedOf(reserved), finished, "entries restored after reserve");
      for (const k of finished) assert.equal(reserved.get(k, hash(k)), model.get(k));

      const copy = new IdempotencyIndex(max);
      copy.addFinished("stale", hash("stale"), 1);
      copy.copyFrom(idx);
      assert.is(copy.get("stale", hash("stale")), undefined);
      assert.is(copy.finished, idx.finished);
      assert.equal(finishedOf(copy), finished);
      for (let n = 0; n < 3 * max; n++) copy.addFinished(cmdKey(100 + n), hash(cmdKey(100 + n)), entryOf(n));
      assert.equal(finishedOf(idx), finished, "a copy is independent");
      for (const [mk, me] of model) assert.equal(idx.get(mk, hash(mk)), me);
    }),
    { numRuns: 500 },
  );
});

test("IdempotencyIndex writes each finished key as the msgpack string of its text, packed or not", () => {
  const idx = new IdempotencyIndex(10);
  const keys = [cmdKey(1), cmdKey(2), cmdKey(3), cmdKey(4), "\u{1F600}-not-a-uuid"];
  keys.forEach((k, i) => idx.addFinished(k, hashString(k), i + 1));
  for (let i = 0; i < keys.length; i++) {
    const w = new MsgpackWriter(new Packr({ useRecords: false }), 16);
    idx.writeFinishedKey(w, i);
    assert.is(unpack(w.finish()), keys[i]);
    assert.is(idx.finishedKey(i), keys[i]);
  }
});

test("SlotTable holds exactly the (tag, slot) entries added and not removed, whatever the tags' collisions", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ add: fc.boolean(), slot: fc.nat({ max: 300 }) }), { maxLength: 800 }),
      fc.constantFrom(1, 4, 1 << 30),
      (seq, tagSpace) => {
        // A tag per slot from a small space (many slots share one: long runs, wrap-around) or
        // spread like real hashes; negative tags too (ids above 2^31 wrap).
        const tagOf = (slot: number) => (tagSpace === 1 << 30 ? Math.imul(slot + 1, 0x9e3779b1) : (slot % tagSpace) - 1);
        const t = new SlotTable();
        const model = new Set<number>();
        for (const { add, slot } of seq) {
          if (add && !model.has(slot)) {
            t.add(tagOf(slot), slot);
            model.add(slot);
          } else if (!add && model.has(slot)) {
            t.remove(tagOf(slot), slot);
            model.delete(slot);
          }
          assert.is(t.size, model.size);
        }
        // Each slot is found under its tag, exactly once; a slot not added is not.
        for (let slot = 0; slot <= 300; slot++) {
          let seen = 0;
          for (let i = t.first(tagOf(slot)); i >= 0; i = t.next(tagOf(slot), i)) if (t.slotAt(i) === slot) seen++;
          assert.is(seen, model.has(slot) ? 1 : 0);
        }
        assert.throws(() => t.remove(tagOf(301), 301));
        assert.is(t.delete(tagOf(301), 301), false);
      },
    ),
    { numRuns: 300 },
  );
});

test.run();
