import { fail } from "./assert.js";
import type { OrderStore } from "./order-store.js";

/** GTD orders by (expireAt, id): a binary min-heap of store slots with O(log n) removal by position. */
export class ExpiryQueue {
  private readonly heap: number[] = [];

  constructor(private readonly store: OrderStore) {}

  get size(): number {
    return this.heap.length;
  }

  /** The order that expires first, or -1. */
  peek(): number {
    return this.heap.length > 0 ? this.heap[0]! : -1;
  }

  push(o: number): void {
    const s = this.store;
    if (!(s.heapIndex(o) === -1 && s.expireAt(o) > 0)) fail(`order ${s.id(o)} cannot be queued for expiry`);
    s.setHeapIndex(o, this.heap.length);
    this.heap.push(o);
    this.up(this.heap.length - 1);
  }

  remove(o: number): void {
    const s = this.store;
    const i = s.heapIndex(o);
    if (!(i >= 0 && this.heap[i] === o)) fail(`order ${s.id(o)} not in expiry queue`);
    const last = this.heap.pop()!;
    s.setHeapIndex(o, -1);
    if (last === o) return;
    this.heap[i] = last;
    s.setHeapIndex(last, i);
    this.down(i);
    this.up(s.heapIndex(last));
  }

  private less(a: number, b: number): boolean {
    const s = this.store;
    const ea = s.expireAt(a);
    const eb = s.expireAt(b);
    return ea < eb || (ea === eb && s.id(a) < s.id(b));
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    h[j] = a;
    this.store.setHeapIndex(a, j);
    this.store.setHeapIndex(b, i);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.heap[i]!, this.heap[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(this.heap[l]!, this.heap[m]!)) m = l;
      if (r < n && this.less(this.heap[r]!, this.heap[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
