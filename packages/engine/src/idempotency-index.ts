import { StringMap } from "./string-map.js";

/**
 * Idempotency (ADR 0003): what each recent finished command did, by cmdId,
 * bounded: entries join the eviction order as they are added, and once there are
 * more than `max`, the oldest is evicted. (A live order's entry is kept apart, as
 * the order's slot in PartitionState's open table, and comes here when the order
 * finishes.)
 *
 * Every call takes the key's `hashString` hash, computed once by the caller.
 * The eviction order is a ring of [key, hash] pairs, so evicting rehashes
 * nothing and, in the steady state, allocates nothing.
 *
 * Evicting deletes the entry at once. (Evicting lazily instead, by numbering
 * finished entries and sweeping expired ones out in sequential passes, was
 * slower: an order that finishes long after it was accepted then has to find
 * and mark its entry, as costly a cache miss as the deletion it saves.)
 */
export class IdempotencyIndex<V> {
  private readonly table = new StringMap<V>();
  /** Finished keys, oldest first: pair k of the ring is [2k] key, [2k + 1] hash. */
  private ring: (string | number | undefined)[] = new Array<string | number | undefined>(32).fill(undefined);
  private head = 0;
  private finishedCount = 0;

  constructor(readonly max: number) {}

  /**
   * Makes this index hold the same entries and eviction order as `src` (values
   * are shared, not copied), reusing its storage when it can.
   */
  copyFrom(src: IdempotencyIndex<V>): void {
    this.table.copyFrom(src.table);
    if (this.ring.length === src.ring.length) {
      for (let i = 0; i < src.ring.length; i++) this.ring[i] = src.ring[i];
    } else {
      this.ring = src.ring.slice();
    }
    this.head = src.head;
    this.finishedCount = src.finishedCount;
  }

  get size(): number {
    return this.table.size;
  }

  get finished(): number {
    return this.finishedCount;
  }

  get(key: string, h: number): V | undefined {
    return this.table.get(key, h);
  }

  /** Adds an entry unless the key is present, and evicts the oldest beyond `max`; true when it added. */
  addFinished(key: string, h: number, v: V): boolean {
    if (!this.table.add(key, h, v)) return false;
    this.append(key, h);
    this.evict();
    return true;
  }

  /**
   * Adds an entry of a snapshot being restored, oldest first, without evicting: a
   * restored state keeps every entry of its snapshot until the next command finishes.
   */
  restore(key: string, h: number, v: V): void {
    this.table.set(key, h, v);
    this.append(key, h);
  }

  /** Appends to the eviction order. */
  private append(key: string, h: number): void {
    if (this.finishedCount * 2 === this.ring.length) this.grow();
    const wrap = this.ring.length / 2 - 1; // pairs in the ring: a power of 2
    const k = (this.head + this.finishedCount) & wrap;
    this.ring[2 * k] = key;
    this.ring[2 * k + 1] = h;
    this.finishedCount++;
  }

  /** The `i`th finished key, oldest first (0 <= i < finished; snapshots keep this order). */
  finishedKey(i: number): string {
    return this.ring[2 * ((this.head + i) & (this.ring.length / 2 - 1))] as string;
  }

  /** The value of the `i`th finished key, found with the hash the ring keeps (no rehashing). */
  finishedValue(i: number): V {
    const k = 2 * ((this.head + i) & (this.ring.length / 2 - 1));
    return this.table.get(this.ring[k] as string, this.ring[k + 1] as number)!;
  }

  private evict(): void {
    const wrap = this.ring.length / 2 - 1;
    while (this.finishedCount > this.max) {
      const ring = this.ring;
      const old = ring[2 * this.head] as string;
      const oldHash = ring[2 * this.head + 1] as number;
      ring[2 * this.head] = undefined;
      this.head = (this.head + 1) & wrap;
      this.finishedCount--;
      this.table.deletePresent(old, oldHash); // every key of the ring is in the table
    }
  }

  private grow(): void {
    const wrap = this.ring.length / 2 - 1;
    const next = new Array<string | number | undefined>(this.ring.length * 2).fill(undefined);
    for (let i = 0; i < this.finishedCount; i++) {
      const k = (this.head + i) & wrap;
      next[2 * i] = this.ring[2 * k];
      next[2 * i + 1] = this.ring[2 * k + 1];
    }
    this.ring = next;
    this.head = 0;
  }
}
