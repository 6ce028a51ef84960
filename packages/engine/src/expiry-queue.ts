import { fail } from "./assert.js";
import type { OrderActor } from "./order-actor.js";

/** GTD orders by (expireAt, id): a binary min-heap with O(log n) removal by position. */
export class ExpiryQueue {
  private readonly heap: OrderActor[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): OrderActor | undefined {
    return this.heap[0];
  }

  push(o: OrderActor): void {
    if (!(o.heapIndex === -1 && o.expireAt > 0)) fail(`order ${o.id} cannot be queued for expiry`);
    o.heapIndex = this.heap.length;
    this.heap.push(o);
    this.up(o.heapIndex);
  }

  remove(o: OrderActor): void {
    const i = o.heapIndex;
    if (!(i >= 0 && this.heap[i] === o)) fail(`order ${o.id} not in expiry queue`);
    const last = this.heap.pop()!;
    o.heapIndex = -1;
    if (last === o) return;
    this.heap[i] = last;
    last.heapIndex = i;
    this.down(i);
    this.up(last.heapIndex);
  }

  private less(a: OrderActor, b: OrderActor): boolean {
    return a.expireAt < b.expireAt || (a.expireAt === b.expireAt && a.id < b.id);
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    h[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
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
