import { OrderColumns } from "./order-columns.js";
import { SlotTable, idTag } from "./slot-table.js";
import type { OrderTuple } from "./snapshot.js";
import type { OrderView } from "./types.js";

/**
 * Terminal orders kept resident for queries (ADR 0003): the most recent `max`,
 * then passivated. Queries never change state, so residency is by age alone: the
 * orders sit in a ring of `max` rows of typed columns (OrderColumns) in the order
 * they finished, each row holding an order's final state, copied from the order
 * store when the order finishes (its slot there is freed). A new order takes the
 * oldest one's row once the ring is full. An id index (SlotTable, tagged by the id's
 * low 32 bits) finds an order's row.
 *
 * Nothing is allocated up front for `max`: the columns start at 64 rows and double
 * up to `max`, the index grows with its entries (the 10,000 default preallocated
 * would cost ~1 MB per partition before any order: 64 MB for an idle node).
 *
 * This replaced an lru-cache used as a FIFO (`set` and `peek` only): its `set` cost
 * ~11 % of the engine's time on `bench match` mixed, where the ring and the index
 * cost a store and two probes.
 */
export class TerminalOrders {
  private readonly columns: OrderColumns;
  private readonly index = new SlotTable();
  /** Row of the oldest resident order (0 until the ring is full). */
  private head = 0;
  private count = 0;

  constructor(readonly max: number) {
    this.columns = new OrderColumns(Math.min(max, 64));
  }

  get size(): number {
    return this.count;
  }

  /** Keeps a terminal order's final state (row `from` of `src`); the most recent `max` stay. */
  add(src: OrderColumns, from: number): void {
    if (this.max === 0) return;
    const row = this.nextRow();
    this.columns.copy(src, from, row);
    this.index.add(idTag(this.columns.id(row)), row);
  }

  /** Keeps a terminal order given as a snapshot tuple. */
  addTuple(t: OrderTuple): void {
    if (this.max === 0) return;
    const row = this.nextRow();
    this.columns.writeTuple(row, t);
    this.index.add(idTag(t[0]), row);
  }

  /** The order's view, if resident. */
  view(id: number): OrderView | undefined {
    const row = this.rowOf(id);
    return row < 0 ? undefined : this.columns.view(row);
  }

  /** Copies the resident orders, oldest first, to `dst` from row `at` on; returns their number. */
  copyOldestFirst(dst: OrderColumns, at: number): number {
    this.forEachOldestFirst((columns, row) => dst.copy(columns, row, at++));
    return this.count;
  }

  /** Calls `f` with the columns and row of each resident order, oldest first. */
  forEachOldestFirst(f: (columns: OrderColumns, row: number) => void): void {
    for (let k = 0, row = this.head; k < this.count; k++, row = row + 1 === this.max ? 0 : row + 1) f(this.columns, row);
  }

  /** Resident orders as snapshot tuples, oldest first. */
  tuples(): OrderTuple[] {
    const out: OrderTuple[] = [];
    this.forEachOldestFirst((c, row) => out.push(c.tuple(row)));
    return out;
  }

  private rowOf(id: number): number {
    const tag = idTag(id);
    for (let i = this.index.first(tag); i >= 0; i = this.index.next(tag, i)) {
      const row = this.index.slotAt(i);
      if (this.columns.id(row) === id) return row;
    }
    return -1;
  }

  /** The row for a new terminal order: the next free one, or the oldest order's, which is passivated. */
  private nextRow(): number {
    if (this.count < this.max) {
      const row = this.count++;
      if (row >= this.columns.capacity) this.columns.grow(Math.min(this.max, 2 * this.columns.capacity));
      return row;
    }
    const row = this.head;
    this.index.remove(idTag(this.columns.id(row)), row);
    this.head = row + 1 === this.max ? 0 : row + 1;
    return row;
  }
}
