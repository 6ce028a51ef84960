import { flatString } from "./flat-string.js";
import { fail } from "./assert.js";
import type { OrderActor } from "./order-actor.js";

interface AccountList {
  /** The account's string, shared by every order in the list (one copy per account, not per order). */
  account: string;
  head: OrderActor | null;
  tail: OrderActor | null;
  count: number;
}

/**
 * Live orders per account, in acceptance order, which is id order (checked on
 * add: checkpoints rely on it); O(1) add and remove (intrusive links).
 */
export class AccountIndex {
  private readonly lists = new Map<string, AccountList>();

  add(o: OrderActor): void {
    let l = this.lists.get(o.account);
    if (!l) {
      l = { account: flatString(o.account), head: null, tail: null, count: 0 };
      this.lists.set(l.account, l);
    }
    o.account = l.account;
    if (l.tail && l.tail.id >= o.id) fail(`order ${o.id} added to account ${o.account} after order ${l.tail.id}`);
    o.aPrev = l.tail;
    o.aNext = null;
    if (l.tail) l.tail.aNext = o;
    else l.head = o;
    l.tail = o;
    l.count++;
  }

  remove(o: OrderActor): void {
    const l = this.lists.get(o.account);
    if (!(l !== undefined && l.count > 0)) fail(`account ${o.account} has no orders`);
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

  /** [account, live orders, the oldest one] per account in index order (the rest follow through aNext). */
  *perAccount(): IterableIterator<[string, number, OrderActor | null]> {
    for (const [a, l] of this.lists) yield [a, l.count, l.head];
  }

  /** Accounts with live orders, in index order. */
  names(): string[] {
    return [...this.lists.keys()];
  }

  /** [account, orders oldest first] in index order (for snapshots). */
  *entries(): IterableIterator<[string, OrderActor[]]> {
    for (const a of this.lists.keys()) yield [a, this.orders(a)];
  }

  get accounts(): number {
    return this.lists.size;
  }
}
