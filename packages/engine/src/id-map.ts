import { assert } from "./assert.js";

const MIN_CAPACITY = 16;
/** Multiplier of Fibonacci hashing: 2^32 / golden ratio. */
const GOLDEN = 0x9e3779b1;

/**
 * A map from order ids to values: open addressing with linear probing. It
 * replaces a V8 `Map`, which slowed down a lot with a few hundred thousand
 * entries under constant insert/delete churn (the resting orders of a deep
 * book): at that size every access is a cache miss, so each slot keeps its key
 * and value side by side in one array.
 *
 * Keys are non-zero numbers (order ids are input sequences, >= 1); 0 marks an
 * empty slot. Deletion shifts the following entries back instead of leaving
 * tombstones, so probe chains never degrade. Load stays in (1/8, 1/2]: the
 * table doubles above half full and halves below an eighth, so memory follows
 * the entries. Iteration order is not defined, and nothing iterates.
 */
export class IdMap<V> {
  /** Slot i is [2i] key (0: empty), [2i + 1] value. */
  private slots: (number | V | undefined)[];
  private mask: number;
  /** 32 - log2(capacity): Fibonacci hashing keeps the top bits of the product. */
  private shift: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    const cap = Math.max(MIN_CAPACITY, 2 ** Math.ceil(Math.log2(capacity)));
    this.slots = emptySlots(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.count;
  }

  get(key: number): V | undefined {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const k = slots[2 * i];
      if (k === key) return slots[2 * i + 1] as V | undefined;
      if (k === 0) return undefined;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  /** Inserts or replaces. */
  set(key: number, v: V): void {
    assert(key !== 0 && v !== undefined, "IdMap keys are non-zero and values defined");
    const slots = this.slots;
    const mask = this.mask;
    let i = this.home(key);
    for (; ; i = (i + 1) & mask) {
      const k = slots[2 * i];
      if (k === key) {
        slots[2 * i + 1] = v;
        return;
      }
      if (k === 0) break;
    }
    slots[2 * i] = key;
    slots[2 * i + 1] = v;
    const cap = mask + 1;
    if (++this.count * 2 > cap) this.resize(cap * 2);
  }

  delete(key: number): boolean {
    if (key === 0) return false; // the empty marker: never a key
    const slots = this.slots;
    const mask = this.mask;
    let i = this.home(key);
    for (; ; i = (i + 1) & mask) {
      const k = slots[2 * i];
      if (k === key) break;
      if (k === 0) return false;
    }
    // Backward shift: pull each later entry of the run into the hole when the
    // hole lies between its home slot and where it sits.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = slots[2 * j] as number;
      if (k === 0) break;
      if (((j - this.home(k)) & mask) >= ((j - i) & mask)) {
        slots[2 * i] = k;
        slots[2 * i + 1] = slots[2 * j + 1];
        i = j;
      }
    }
    slots[2 * i] = 0;
    slots[2 * i + 1] = undefined;
    const cap = mask + 1;
    if (--this.count * 8 < cap && cap > MIN_CAPACITY) this.resize(cap / 2);
    return true;
  }

  /** Ids are integers up to 2^53: both 32-bit halves are mixed in. */
  private home(key: number): number {
    const lo = key | 0;
    const hi = (key / 4294967296) | 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), GOLDEN) >>> this.shift;
  }

  private resize(cap: number): void {
    const old = this.slots;
    const slots = (this.slots = emptySlots(cap));
    const mask = (this.mask = cap - 1);
    this.shift = 32 - Math.log2(cap);
    for (let b = 0; b < old.length; b += 2) {
      const k = old[b] as number;
      if (k === 0) continue;
      let i = this.home(k);
      while (slots[2 * i] !== 0) i = (i + 1) & mask;
      slots[2 * i] = k;
      slots[2 * i + 1] = old[b + 1];
    }
  }
}

function emptySlots<V>(cap: number): (number | V | undefined)[] {
  const slots = new Array<number | V | undefined>(2 * cap);
  for (let b = 0; b < slots.length; b += 2) {
    slots[b] = 0;
    slots[b + 1] = undefined;
  }
  return slots;
}
