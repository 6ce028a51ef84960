import type { BookSide } from "./book-side.js";
import { IdempotencyIndex } from "./idempotency-index.js";
import { NONE, type OrderStore } from "./order-store.js";
import { OrderColumns } from "./order-columns.js";
import type { PartitionState } from "./partition-state.js";
import { SNAPSHOT_VERSION, rebuild, seenTuples, type LevelTuple, type OrderTuple, type SnapshotDoc } from "./snapshot.js";
import type { MarketSpec } from "./types.js";

/**
 * A rollback checkpoint (ADR 0001) taken by the engine itself: the committed
 * state copied into flat arrays, holding exactly what a snapshot would, in
 * the same order. Encoding a snapshot instead (one small array per order,
 * then msgpack with UTF-8 strings) cost six to eight times more, which at the
 * journal bound was over a tenth of the engine's time. Restoring, which only a
 * failing command needs, goes through the snapshot document and `rebuild`,
 * so both paths rebuild state the same way.
 *
 * Orders are copied row by row into typed columns of the checkpoint's own
 * (OrderColumns.copy: a few stores, no allocation). Account lists
 * are kept as account names only: each list holds its account's resting
 * orders in id order (AccountIndex checks it), so it is rebuilt from the
 * book. Strings are immutable and kept by reference; the idempotency index's
 * flat rows are copied (its rejection outcomes, immutable, are shared).
 */
export class Checkpoint {
  private header: [partition: number, seq: number, tradeSeq: number, lastInSeq: number, now: number] = [0, 0, 0, 0, 0];
  private specs: MarketSpec[] = [];
  /** Resting orders in book order. */
  private readonly resting = new OrderColumns(0);
  private restingCount = 0;
  /** Terminal orders, oldest first. */
  private readonly terminal = new OrderColumns(0);
  private terminalCount = 0;
  /** Per book side: level count, then price and order count per level. */
  private readonly levels: number[] = [];
  private levelsLength = 0;
  private accountNames: string[] = [];
  private readonly byCmd: IdempotencyIndex;

  constructor(s: PartitionState) {
    this.byCmd = new IdempotencyIndex(s.byCmd.max);
    this.capture(s);
  }

  /**
   * Replaces this checkpoint with one of `s`, reusing its storage: the engine
   * keeps one image and retakes it, so checkpoints allocate next to nothing.
   */
  capture(s: PartitionState): this {
    this.header = [s.partition, s.seq, s.tradeSeq, s.lastInSeq, s.now];
    const before = this.restingCount;
    this.restingCount = 0;
    this.levelsLength = 0;
    this.specs = [];
    this.resting.ensure(s.restingOrders);
    for (const b of s.markets.values()) {
      this.specs.push({ ...b.rules.spec });
      this.side(s.store, b.bids);
      this.side(s.store, b.asks);
    }
    // Rows of orders that left the book since the last capture hold no references.
    for (let i = this.restingCount; i < before; i++) this.resting.clear(i);
    this.accountNames = s.accounts.names();
    this.terminal.ensure(s.terminal.size);
    this.terminalCount = s.terminal.copyOldestFirst(this.terminal, 0);
    this.byCmd.copyFrom(s.byCmd);
    return this;
  }

  /** The checkpointed state, rebuilt (a new, independent PartitionState). */
  restore(terminalOrdersMax: number, idempotencyMax: number): PartitionState {
    return rebuild(this.document(), terminalOrdersMax, idempotencyMax);
  }

  /** The snapshot document of the checkpointed state: what `encodeSnapshot` would have packed. */
  document(): SnapshotDoc {
    const [partition, seq, tradeSeq, lastInSeq, now] = this.header;
    const byAccount = new Map<string, number[]>(this.accountNames.map((a) => [a, []]));
    let o = 0;
    let l = 0;
    const side = (): LevelTuple[] => {
      const out: LevelTuple[] = [];
      for (let n = this.levels[l++]!; n > 0; n--) {
        const price = this.levels[l++]!;
        const os: OrderTuple[] = [];
        for (let c = this.levels[l++]!; c > 0; c--) {
          const t = this.resting.tuple(o++);
          byAccount.get(t[2])!.push(t[0]);
          os.push(t);
        }
        out.push([price, os]);
      }
      return out;
    };
    const markets = this.specs.map((spec): [MarketSpec, LevelTuple[], LevelTuple[]] => [{ ...spec }, side(), side()]);
    const accounts = [...byAccount].map(([a, ids]): [string, number[]] => [a, ids.sort((x, y) => x - y)]);
    const terminal: OrderTuple[] = [];
    for (let i = 0; i < this.terminalCount; i++) terminal.push(this.terminal.tuple(i));
    return { v: SNAPSHOT_VERSION, partition, seq, tradeSeq, lastInSeq, now, markets, accounts, terminal, seen: seenTuples(this.byCmd) };
  }

  private side(store: OrderStore, side: BookSide): void {
    const lv = this.levels;
    lv[this.levelsLength++] = side.depth;
    for (const lvl of side.bestFirst()) {
      lv[this.levelsLength++] = lvl.price;
      lv[this.levelsLength++] = lvl.count;
      for (let o = lvl.head; o !== NONE; o = store.next(o)) this.resting.copy(store, o, this.restingCount++);
    }
  }
}
