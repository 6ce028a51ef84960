import { LRUCache } from "lru-cache";
import type { OrderActor } from "./order-actor.js";
import { OrderColumns } from "./order-columns.js";

/**
 * Terminal orders kept resident for queries (ADR 0003): the most recent
 * `max` in an lru-cache, then passivated. The cache maps an order id to a
 * slot of flat columns holding the order's final state, not to the actor:
 * an actor held by the cache lived on for `max` more finishes, long enough to
 * survive a young-generation collection and be copied, which was a large
 * share of the collector's work. Slots freed by evictions are reused.
 *
 * Nothing is allocated up front for `max`: lru-cache preallocates two arrays of `max`
 * entries when given `max` (so it is given a size bound of `max` entries of size 1
 * instead), and the columns start at 64 orders and double. Preallocated, the 10,000
 * default cost ~350 KB per partition before any order: 22 MB of an idle node's 64
 * partitions (bench memory, heap snapshot of an idle node).
 */
export class TerminalOrders {
  /** Null when `max` is 0: terminal orders are passivated at once. */
  private readonly cache: LRUCache<number, number> | null;
  private readonly columns: OrderColumns;
  private readonly free: number[] = [];
  /** Slots handed out so far; at most max + 1 (a set may need one before it evicts). */
  private used = 0;
  /** Passed to every `set`, which would otherwise allocate a default options object per call. */
  private readonly setOptions: LRUCache.SetOptions<number, number, unknown> = {};

  constructor(readonly max: number) {
    this.cache = max > 0 ? new LRUCache({ maxSize: max, sizeCalculation: () => 1, dispose: (slot) => this.release(slot) }) : null;
    this.columns = new OrderColumns(Math.min(max + 1, 64));
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  /** Keeps a terminal order's final state; the most recent `max` stay. */
  add(o: OrderActor): void {
    if (this.cache === null) return;
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      if (slot >= this.columns.capacity) this.columns.grow(Math.min(this.max + 1, 2 * this.columns.capacity));
    }
    this.columns.write(slot, o);
    this.setOptions.status = undefined;
    this.cache.set(o.id, slot, this.setOptions);
  }

  /** The order as a new actor, if resident; recency is not changed (queries never change state). */
  peek(id: number): OrderActor | undefined {
    const slot = this.cache?.peek(id);
    return slot === undefined ? undefined : this.columns.actor(slot);
  }

  /** Copies the resident orders, least recently used first, to `dst` from order `at` on; returns their number. */
  copyOldestFirst(dst: OrderColumns, at: number): number {
    let n = 0;
    if (this.cache === null) return 0;
    for (const slot of this.cache.rvalues()) if (slot !== undefined) dst.copy(this.columns, slot, at + n++);
    return n;
  }

  /** Resident orders as new actors, least recently used first (re-adding them restores recency). */
  oldestFirst(): OrderActor[] {
    const out: OrderActor[] = [];
    if (this.cache === null) return out;
    for (const slot of this.cache.rvalues()) if (slot !== undefined) out.push(this.columns.actor(slot));
    return out;
  }

  private release(slot: number): void {
    this.columns.clear(slot);
    this.free.push(slot);
  }
}
