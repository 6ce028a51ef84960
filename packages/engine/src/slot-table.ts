import { assert, fail } from "./assert.js";
import { mappedInt32Array } from "./page-arrays.js";

const MIN_CAPACITY = 16;
/** Multiplier of Fibonacci hashing: 2^32 / golden ratio. */
const GOLDEN = 0x9e3779b1;

/** The tag an order id is indexed under: its low 32 bits (ids are input sequences, safe integers whose low bits spread well). */
export function idTag(id: number): number {
  return id | 0;
}

/**
 * A hash index from keys to slots of an OrderStore, kept in one Int32Array: entry i
 * is [2i] the key's 32-bit tag and [2i + 1] the slot plus one (0: empty). The keys
 * themselves live in the store: a lookup walks the entries whose tag matches and the
 * caller confirms each candidate against the store (`first`/`next`), which for a
 * good tag is one check. Eight bytes per entry and no object per entry: the
 * order-id and open-cmdId indexes of a million resting orders take ~16 MB each where
 * the maps holding keys and objects took 33 and 40 MB (ADR 0005).
 *
 * Open addressing with linear probing; deletion is by slot (the caller knows which
 * entry goes) and shifts the following entries back, so there are no tombstones.
 * Load stays in (1/8, 1/2]. Many entries may share a tag (and the same key may be
 * entered twice: the index does not know keys).
 */
export class SlotTable {
  private entries: Int32Array;
  private mask: number;
  /** 32 - log2(capacity): Fibonacci hashing keeps the top bits of the product. */
  private shift: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    const cap = Math.max(MIN_CAPACITY, 2 ** Math.ceil(Math.log2(capacity)));
    this.entries = mappedInt32Array(2 * cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.count;
  }

  /** Makes this table hold exactly `src`'s entries, reusing its storage when the capacities match. */
  copyFrom(src: SlotTable): void {
    if (this.entries.length !== src.entries.length) this.entries = mappedInt32Array(src.entries.length);
    this.entries.set(src.entries);
    this.mask = src.mask;
    this.shift = src.shift;
    this.count = src.count;
  }

  /** Position of the first entry tagged `tag`, or -1; read its slot with `slotAt`. */
  first(tag: number): number {
    return this.scan(tag, Math.imul(tag, GOLDEN) >>> this.shift);
  }

  /** Position of the next entry tagged `tag` after position `i`, or -1. */
  next(tag: number, i: number): number {
    return this.scan(tag, (i + 1) & this.mask);
  }

  slotAt(i: number): number {
    return this.entries[2 * i + 1]! - 1;
  }

  add(tag: number, slot: number): void {
    assert(slot >= 0, "slots are >= 0");
    const e = this.entries;
    const mask = this.mask;
    let i = Math.imul(tag, GOLDEN) >>> this.shift;
    while (e[2 * i + 1] !== 0) i = (i + 1) & mask;
    e[2 * i] = tag;
    e[2 * i + 1] = slot + 1;
    if (++this.count * 2 > mask + 1) this.resize(2 * (mask + 1));
  }

  /** Removes the entry of `slot` entered under `tag` (it must be there). */
  remove(tag: number, slot: number): void {
    if (!this.delete(tag, slot)) fail(`slot ${slot} is not indexed under ${tag}`);
  }

  /** Removes the entry of `slot` entered under `tag`; false when there is none. */
  delete(tag: number, slot: number): boolean {
    const e = this.entries;
    const mask = this.mask;
    let i = Math.imul(tag, GOLDEN) >>> this.shift;
    for (; ; i = (i + 1) & mask) {
      const s = e[2 * i + 1]!;
      if (s === slot + 1 && e[2 * i] === tag) break;
      if (s === 0) return false;
    }
    // Backward shift: pull each later entry of the run into the hole when the hole
    // lies between its home position and where it sits.
    for (let j = (i + 1) & mask; e[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = Math.imul(e[2 * j]!, GOLDEN) >>> this.shift;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        e[2 * i] = e[2 * j]!;
        e[2 * i + 1] = e[2 * j + 1]!;
        i = j;
      }
    }
    e[2 * i] = 0;
    e[2 * i + 1] = 0;
    const cap = mask + 1;
    if (--this.count * 8 < cap && cap > MIN_CAPACITY) this.resize(cap / 2);
    return true;
  }

  private scan(tag: number, from: number): number {
    const e = this.entries;
    const mask = this.mask;
    for (let i = from; ; i = (i + 1) & mask) {
      if (e[2 * i + 1] === 0) return -1;
      if (e[2 * i] === tag) return i;
    }
  }

  private resize(cap: number): void {
    const old = this.entries;
    const e = (this.entries = mappedInt32Array(2 * cap));
    const mask = (this.mask = cap - 1);
    this.shift = 32 - Math.log2(cap);
    for (let b = 0; b < old.length; b += 2) {
      if (old[b + 1] === 0) continue;
      let i = Math.imul(old[b]!, GOLDEN) >>> this.shift;
      while (e[2 * i + 1] !== 0) i = (i + 1) & mask;
      e[2 * i] = old[b]!;
      e[2 * i + 1] = old[b + 1]!;
    }
  }
}
