import { OrderActor } from "./order-actor.js";
import type { OrderTuple } from "./snapshot.js";
import type { OrderStatus, OrderType, StpMode, TimeInForce } from "./types.js";

/** Fields one order takes. */
const FIELDS = 14;

/**
 * Orders' state in one flat array instead of one object each: storing an
 * order is a few stores and allocates nothing, and the array holds no young
 * objects for the garbage collector to copy. For state kept in bulk
 * (checkpoints, terminal orders).
 *
 * A plain array, not a Float64Array: numbers read back from a typed array are
 * doubles, and storing them into an actor turned its integer fields into
 * boxed doubles for every actor.
 */
export class OrderColumns {
  private readonly fields: (number | string | undefined)[];

  constructor(capacity: number) {
    this.fields = new Array<number | string | undefined>(FIELDS * capacity).fill(undefined);
  }

  get capacity(): number {
    return this.fields.length / FIELDS;
  }

  /** Room for `capacity` orders, keeping the ones stored. */
  grow(capacity: number): void {
    const f = this.fields;
    while (f.length < FIELDS * capacity) f.push(undefined);
  }

  write(i: number, o: OrderActor): void {
    const f = this.fields;
    const b = FIELDS * i;
    f[b] = o.id;
    f[b + 1] = o.cmdId;
    f[b + 2] = o.account;
    f[b + 3] = o.market;
    f[b + 4] = o.isBuy ? 1 : 0;
    f[b + 5] = o.orderType;
    f[b + 6] = o.tif;
    f[b + 7] = o.stp;
    f[b + 8] = o.postOnly ? 1 : 0;
    f[b + 9] = o.expireAt;
    f[b + 10] = o.price;
    f[b + 11] = o.remaining;
    f[b + 12] = o.filled;
    f[b + 13] = o.status;
  }

  /** Copies order `from` of `src` to order `to` of this. */
  copy(src: OrderColumns, from: number, to: number): void {
    const s = src.fields;
    const f = this.fields;
    for (let k = 0; k < FIELDS; k++) f[FIELDS * to + k] = s[FIELDS * from + k];
  }

  /** Drops the references held for order i. */
  clear(i: number): void {
    const f = this.fields;
    for (let k = FIELDS * i; k < FIELDS * i + FIELDS; k++) f[k] = undefined;
  }

  /** A new actor with order i's state (off the book and out of every index). */
  actor(i: number): OrderActor {
    const t = this.tuple(i);
    const o = new OrderActor(t[0], t[1], t[2], t[3], t[4] === 1, t[5], t[6], t[7], t[8] === 1, t[9], t[10], t[11]);
    o.filled = t[12];
    o.status = t[13];
    return o;
  }

  /** Order i as a snapshot tuple (the same fields in the same order). */
  tuple(i: number): OrderTuple {
    const f = this.fields;
    const b = FIELDS * i;
    return [
      f[b] as number, f[b + 1] as string, f[b + 2] as string, f[b + 3] as string, f[b + 4] === 1 ? 1 : 0,
      f[b + 5] as OrderType, f[b + 6] as TimeInForce, f[b + 7] as StpMode, f[b + 8] === 1 ? 1 : 0,
      f[b + 9] as number, f[b + 10] as number, f[b + 11] as number, f[b + 12] as number, f[b + 13] as OrderStatus,
    ];
  }
}
