import { LRUCache } from "lru-cache";
import { OrderColumns } from "./order-columns.js";
import type { OrderTuple } from "./snapshot.js";
import type { OrderView } from "./types.js";

/**
 * Terminal orders kept resident for queries (ADR 0003): the most recent
 * `max` in an lru-cache, then passivated. The cache maps an order id to a
 * row of typed columns (OrderColumns) holding the order's final state, copied
 * from the order store when the order finishes (its slot there is freed). Rows
 * freed by evictions are reused.
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

  /** Keeps a terminal order's final state (row `from` of `src`); the most recent `max` stay. */
  add(src: OrderColumns, from: number): void {
    const slot = this.slotFor();
    if (slot < 0) return;
    this.columns.copy(src, from, slot);
    this.keep(this.columns.id(slot), slot);
  }

  /** Keeps a terminal order given as a snapshot tuple. */
  addTuple(t: OrderTuple): void {
    const slot = this.slotFor();
    if (slot < 0) return;
    this.columns.writeTuple(slot, t);
    this.keep(t[0], slot);
  }

  /** The order's view, if resident; recency is not changed (queries never change state). */
  view(id: number): OrderView | undefined {
    const slot = this.cache?.peek(id);
    return slot === undefined ? undefined : this.columns.view(slot);
  }

  /** Copies the resident orders, least recently used first, to `dst` from row `at` on; returns their number. */
  copyOldestFirst(dst: OrderColumns, at: number): number {
    let n = 0;
    if (this.cache === null) return 0;
    for (const slot of this.cache.rvalues()) if (slot !== undefined) dst.copy(this.columns, slot, at + n++);
    return n;
  }

  /** Calls `f` with the columns and row of each resident order, least recently used first. */
  forEachOldestFirst(f: (columns: OrderColumns, row: number) => void): void {
    if (this.cache === null) return;
    for (const slot of this.cache.rvalues()) if (slot !== undefined) f(this.columns, slot);
  }

  /** Resident orders as snapshot tuples, least recently used first. */
  tuples(): OrderTuple[] {
    const out: OrderTuple[] = [];
    this.forEachOldestFirst((c, row) => out.push(c.tuple(row)));
    return out;
  }

  /** A free row for a new terminal order, or -1 when none are kept. */
  private slotFor(): number {
    if (this.cache === null) return -1;
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      if (slot >= this.columns.capacity) this.columns.grow(Math.min(this.max + 1, 2 * this.columns.capacity));
    }
    return slot;
  }

  private keep(id: number, slot: number): void {
    this.setOptions.status = undefined;
    this.cache!.set(id, slot, this.setOptions);
  }

  private release(slot: number): void {
    this.columns.clear(slot);
    this.free.push(slot);
  }
}
