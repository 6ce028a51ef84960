import { assert } from "./assert.js";
import type { OrderActor } from "./order-actor.js";

interface AccountList {
  head: OrderActor | null;
  tail: OrderActor | null;
  count: number;
}

/** Live orders per account, in acceptance order; O(1) add and remove (intrusive links). */
export class AccountIndex {
  private readonly lists = new Map<string, AccountList>();

  add(o: OrderActor): void {
    let l = this.lists.get(o.account);
    if (!l) {
      l = { head: null, tail: null, count: 0 };
      this.lists.set(o.account, l);
    }
    o.aPrev = l.tail;
    o.aNext = null;
    if (l.tail) l.tail.aNext = o;
    else l.head = o;
    l.tail = o;
    l.count++;
  }

  remove(o: OrderActor): void {
    const l = this.lists.get(o.account);
    assert(l !== undefined && l.count > 0, `account ${o.account} has no orders`);
    if (o.aPrev) o.aPrev.aNext = o.aNext;
    else l.head = o.aNext;
    if (o.aNext) o.aNext.aPrev = o.aPrev;
    else l.tail = o.aPrev;
    o.aPrev = o.aNext = null;
    if (--l.count === 0) this.lists.delete(o.account);
  }

  /** The account's live orders, oldest first, copied so the caller may cancel while iterating. */
  orders(account: string): OrderActor[] {
    const out: OrderActor[] = [];
    for (let o = this.lists.get(account)?.head ?? null; o; o = o.aNext) out.push(o);
    return out;
  }

  /** [account, orders oldest first] in index order (for snapshots). */
  *entries(): IterableIterator<[string, OrderActor[]]> {
    for (const a of this.lists.keys()) yield [a, this.orders(a)];
  }

  get accounts(): number {
    return this.lists.size;
  }
}
