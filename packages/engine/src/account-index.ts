import { flatString } from "./flat-string.js";
import { fail } from "./assert.js";
import { ACCOUNT_LIST, NONE, type OrderStore, type SlotList } from "./order-store.js";

interface AccountList extends SlotList {
  /** The account's string, shared by every order in the list (one copy per account, not per order). */
  account: string;
  count: number;
}

/**
 * Live orders per account, in acceptance order, which is id order (checked on
 * add: checkpoints rely on it); O(1) add and remove (intrusive links in the store).
 */
export class AccountIndex {
  private readonly lists = new Map<string, AccountList>();

  constructor(private readonly store: OrderStore) {}

  add(o: number): void {
    const s = this.store;
    const account = s.accountOf(o);
    let l = this.lists.get(account);
    if (!l) {
      l = { account: flatString(account), head: NONE, tail: NONE, count: 0 };
      this.lists.set(l.account, l);
    }
    s.account[o] = l.account;
    if (l.tail !== NONE && s.id(l.tail) >= s.id(o)) fail(`order ${s.id(o)} added to account ${account} after order ${s.id(l.tail)}`);
    s.append(l, o, ACCOUNT_LIST);
    l.count++;
  }

  remove(o: number): void {
    const s = this.store;
    const account = s.accountOf(o);
    const l = this.lists.get(account);
    if (!(l !== undefined && l.count > 0)) fail(`account ${account} has no orders`);
    s.unlink(l, o, ACCOUNT_LIST);
    if (--l.count === 0) this.lists.delete(account);
  }

  /** The account's live orders, oldest first, copied so the caller may cancel while iterating. */
  orders(account: string): number[] {
    const out: number[] = [];
    for (let o = this.lists.get(account)?.head ?? NONE; o !== NONE; o = this.store.aNext(o)) out.push(o);
    return out;
  }

  /** [account, live orders, the oldest one] per account in index order (the rest follow through aNext). */
  *perAccount(): IterableIterator<[string, number, number]> {
    for (const [a, l] of this.lists) yield [a, l.count, l.head];
  }

  /** Accounts with live orders, in index order. */
  names(): string[] {
    return [...this.lists.keys()];
  }

  /** [account, orders oldest first] in index order (for snapshots). */
  *entries(): IterableIterator<[string, number[]]> {
    for (const a of this.lists.keys()) yield [a, this.orders(a)];
  }

  get accounts(): number {
    return this.lists.size;
  }
}
