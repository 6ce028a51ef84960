import { assert, fail } from "./assert.js";

const MIN_CAPACITY = 16;
/** Multiplier of Fibonacci hashing: 2^32 / golden ratio. */
const GOLDEN = 0x9e3779b1;

/**
 * A map from strings to values: open addressing with linear probing. It
 * replaces a V8 `Map`, which slowed down a lot with a few hundred thousand
 * entries under constant churn (the idempotency index): at that size most
 * accesses miss the cache. Probes scan a compact typed array of hashes (most
 * lookups are misses, which then touch nothing else); a slot's key and value
 * sit side by side in a second array, read when the hash matches. Every call
 * takes the key's `hashString` hash, computed once by the caller.
 *
 * Deletion shifts the following entries back instead of leaving tombstones,
 * so probe chains never degrade. Load stays in (1/8, 4/5]: the table doubles
 * above four fifths full and halves below an eighth, so memory follows the
 * entries. (Probing scans 4-byte hashes, sixteen to a cache line, so the
 * longer runs of a higher load cost little, and the table and the copy each
 * checkpoint keeps of it are half the size they would be at 1/2. The bound is
 * 4/5 rather than 3/4 because the default idempotency bound, 100,000 finished
 * commands, is 0.76 of 2^17 slots: at 3/4 the table doubled to 2^18 slots, 2.6 MB
 * more per partition, and as much again in a rollback image's copy while one is
 * kept — bench memory: heap used after 10M orders 29.6 → 27.8 MB.) Iteration
 * order is not defined, and nothing iterates.
 */
export class StringMap<V> {
  /** Hash of the entry in each slot (0: empty): probes scan this compact array only. */
  private hashes: Int32Array;
  /** Slot i's key at [2i] and value at [2i + 1], read only when its hash matches. */
  private kv: (string | V | undefined)[];
  private mask: number;
  /** 32 - log2(capacity): Fibonacci hashing keeps the top bits of the product. */
  private shift: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    const cap = Math.max(MIN_CAPACITY, 2 ** Math.ceil(Math.log2(capacity)));
    this.hashes = new Int32Array(cap);
    this.kv = new Array<string | V | undefined>(2 * cap).fill(undefined);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.count;
  }

  /** Makes this map hold the same entries as `src` (values are shared, not copied), reusing its storage when it can. */
  copyFrom(src: StringMap<V>): void {
    if (this.hashes.length === src.hashes.length) {
      this.hashes.set(src.hashes);
      const from = src.kv;
      const to = this.kv;
      for (let i = 0; i < from.length; i++) to[i] = from[i];
    } else {
      this.hashes = src.hashes.slice();
      this.kv = src.kv.slice();
    }
    this.mask = src.mask;
    this.shift = src.shift;
    this.count = src.count;
  }

  /** `h` must be `hashString(key)`. */
  get(key: string, h: number): V | undefined {
    const hashes = this.hashes;
    const mask = this.mask;
    for (let i = Math.imul(h, GOLDEN) >>> this.shift; ; i = (i + 1) & mask) {
      const t = hashes[i]!;
      if (t === h) {
        if (this.kv[2 * i] === key) return this.kv[2 * i + 1] as V;
      } else if (t === 0) {
        return undefined;
      }
    }
  }

  has(key: string, h: number): boolean {
    return this.get(key, h) !== undefined;
  }

  /** Inserts or replaces; true when the key was present. */
  set(key: string, h: number, v: V): boolean {
    return this.put(key, h, v, true);
  }

  /** Inserts unless the key is present; true when it inserted. */
  add(key: string, h: number, v: V): boolean {
    return !this.put(key, h, v, false);
  }

  delete(key: string, h: number): boolean {
    if (h === 0) return false; // the empty marker: never a key's hash
    const mask = this.mask;
    for (let i = Math.imul(h, GOLDEN) >>> this.shift; ; i = (i + 1) & mask) {
      const t = this.hashes[i]!;
      if (t === h && this.kv[2 * i] === key) {
        this.deleteAt(i);
        return true;
      }
      if (t === 0) return false;
    }
  }

  /**
   * Deletes a key the caller knows is present. When no other entry of its
   * probe run has the same hash, the key is not read: the hashes alone tell
   * where it is, which spares a cache miss on the keys (most deletions are
   * evictions of entries untouched for a long time).
   */
  deletePresent(key: string, h: number): void {
    const hashes = this.hashes;
    const mask = this.mask;
    let at = -1;
    for (let i = Math.imul(h, GOLDEN) >>> this.shift; ; i = (i + 1) & mask) {
      const t = hashes[i]!;
      if (t === 0) break;
      if (t !== h) continue;
      if (at >= 0) {
        // Two entries with this hash: tell them apart by key.
        if (!this.delete(key, h)) fail(`deletePresent: ${key} is absent`);
        return;
      }
      at = i;
    }
    if (at < 0) fail(`deletePresent: ${key} is absent`);
    this.deleteAt(at);
  }

  private deleteAt(i: number): void {
    const hashes = this.hashes;
    const kv = this.kv;
    const mask = this.mask;
    const shift = this.shift;
    // Backward shift: pull each later entry of the run into the hole when the
    // hole lies between its home slot and where it sits.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const t = hashes[j]!;
      if (t === 0) break;
      if (((j - (Math.imul(t, GOLDEN) >>> shift)) & mask) >= ((j - i) & mask)) {
        hashes[i] = t;
        kv[2 * i] = kv[2 * j];
        kv[2 * i + 1] = kv[2 * j + 1];
        i = j;
      }
    }
    hashes[i] = 0;
    kv[2 * i] = undefined;
    kv[2 * i + 1] = undefined;
    const cap = mask + 1;
    if (--this.count * 8 < cap && cap > MIN_CAPACITY) this.resize(cap / 2);
  }

  private put(key: string, h: number, v: V, replace: boolean): boolean {
    assert(h !== 0 && v !== undefined, "StringMap hashes are non-zero and values defined");
    const hashes = this.hashes;
    const mask = this.mask;
    let i = Math.imul(h, GOLDEN) >>> this.shift;
    for (; ; i = (i + 1) & mask) {
      const t = hashes[i]!;
      if (t === h && this.kv[2 * i] === key) {
        if (replace) this.kv[2 * i + 1] = v;
        return true;
      }
      if (t === 0) break;
    }
    hashes[i] = h;
    this.kv[2 * i] = key;
    this.kv[2 * i + 1] = v;
    const cap = mask + 1;
    if (++this.count * 5 > cap * 4) this.resize(cap * 2);
    return false;
  }

  private resize(cap: number): void {
    const oldHashes = this.hashes;
    const oldKv = this.kv;
    const hashes = (this.hashes = new Int32Array(cap));
    const kv = (this.kv = new Array<string | V | undefined>(2 * cap).fill(undefined));
    const mask = (this.mask = cap - 1);
    const shift = (this.shift = 32 - Math.log2(cap));
    for (let j = 0; j < oldHashes.length; j++) {
      const t = oldHashes[j]!;
      if (t === 0) continue;
      let i = Math.imul(t, GOLDEN) >>> shift;
      while (hashes[i] !== 0) i = (i + 1) & mask;
      hashes[i] = t;
      kv[2 * i] = oldKv[2 * j];
      kv[2 * i + 1] = oldKv[2 * j + 1];
    }
  }
}
