import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { IdMap } from "../src/id-map.js";
import { IdempotencyIndex } from "../src/idempotency-index.js";
import { hashString } from "../src/string-hash.js";
import { StringMap } from "../src/string-map.js";
import { SlotTable } from "../src/slot-table.js";

/** An index's finished keys, oldest first. */
const finishedOf = <V>(idx: IdempotencyIndex<V>): string[] => Array.from({ length: idx.finished }, (_, i) => idx.finishedKey(i));

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

test("StringMap behaves like a Map, with real hashes and with colliding ones", () => {
  fc.assert(
    fc.property(ops(120), fc.boolean(), (seq, collide) => {
      // Any hash consistent with the key works; a 2-bit one forces long probe runs.
      const hash = (k: string) => (collide ? (hashString(k) & 3) + 1 : hashString(k));
      const m = new StringMap<number>();
      const model = new Map<string, number>();
      for (const { op, key, value } of seq) {
        const k = `c${key}`;
        const h = hash(k);
        switch (op) {
          case "set":
            assert.is(m.set(k, h, value), model.has(k));
            model.set(k, value);
            break;
          case "add": {
            const added = !model.has(k);
            assert.is(m.add(k, h, value), added);
            if (added) model.set(k, value);
            break;
          }
          case "delete":
            if (model.has(k) && value % 2 === 0) m.deletePresent(k, h);
            else assert.is(m.delete(k, h), model.has(k));
            model.delete(k);
            break;
          case "get":
            break;
        }
        assert.is(m.get(k, h), model.get(k));
        assert.is(m.size, model.size);
      }
      const copy = new StringMap<number>();
      copy.set("stale", hash("stale"), 7);
      copy.copyFrom(m);
      assert.is(copy.get("stale", hash("stale")), undefined);
      for (let key = 0; key < 120; key++) {
        const k = `c${key}`;
        assert.is(m.get(k, hash(k)), model.get(k));
        assert.is(copy.get(k, hash(k)), model.get(k));
      }
      copy.set("c0", hash("c0"), -1);
      assert.is(m.get("c0", hash("c0")), model.get("c0"), "a copy is independent");
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
    fc.property(fc.integer({ min: 1, max: 30 }), steps, fc.boolean(), (max, seq, collide) => {
      // Any hash consistent with the key works; a 2-bit one forces long probe runs.
      const hash = (k: string) => (collide ? (hashString(k) & 3) + 1 : hashString(k));
      const idx = new IdempotencyIndex<number>(max);
      const model = new Map<string, number>();
      const finished: string[] = [];
      const evict = () => {
        while (finished.length > max) model.delete(finished.shift()!);
      };
      for (const { op, key, value } of seq) {
        const k = `k${key}`;
        const h = hash(k);
        const known = model.has(k);
        switch (op) {
          case "addFinished":
            assert.is(idx.addFinished(k, h, value), !known);
            if (!known) {
              model.set(k, value);
              finished.push(k);
              evict();
            }
            break;
          case "restore": // restoring: only keys not yet remembered, and nothing evicted until the next add
            if (!known) {
              idx.restore(k, h, value);
              model.set(k, value);
              finished.push(k);
            }
            break;
          case "get":
            break;
        }
        assert.is(idx.get(k, h), model.get(k));
        assert.is(idx.size, model.size);
      }
      assert.equal(finishedOf(idx), finished);
      for (let i = 0; i < idx.finished; i++) assert.is(idx.finishedValue(i), model.get(idx.finishedKey(i)), "each finished value is the model's");
      for (let key = 0; key <= 80; key++) assert.is(idx.get(`k${key}`, hash(`k${key}`)), model.get(`k${key}`));

      const copy = new IdempotencyIndex<number>(max);
      copy.addFinished("stale", hash("stale"), 1);
      copy.copyFrom(idx);
      assert.is(copy.get("stale", hash("stale")), undefined);
      assert.is(copy.size, idx.size);
      assert.equal(finishedOf(copy), finished);
      for (let n = 0; n < 3 * max; n++) copy.addFinished(`x${n}`, hash(`x${n}`), n);
      assert.equal(finishedOf(idx), finished, "a copy is independent");
      for (const [mk, me] of model) assert.is(idx.get(mk, hash(mk)), me);
    }),
    { numRuns: 500 },
  );
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
