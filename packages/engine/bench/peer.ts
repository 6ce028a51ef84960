/**
 * Driver for the peer, nodejs-order-book 10.1.1: one `OrderBook` per market.
 *
 * It has no markets, accounts or sequence numbers: orders carry a unique string
 * id, which we take from the op number ("o123"), and a cancel names that id.
 * No `accountId` is passed, so its self-trade prevention never runs, which
 * matches Bourse's `stp: "none"`. Journaling stays off (its default).
 */
import { hrtime } from "node:process";
import type { Histogram } from "hdr-histogram-js";
import {
  OrderBook,
  Side,
  type IProcessOrder,
  type LimitOrderOptions,
  type MarketOrderOptions,
} from "nodejs-order-book";
// The enum exists at run time but index.d.ts does not re-export it.
import type { TimeInForce } from "nodejs-order-book/dist/types/types.js";
import {
  OP_CANCEL,
  OP_LIMIT,
  OP_MARKET,
  SIDE_BUY,
  TIF_GTC,
  newTally,
  type Driver,
  type OpList,
  type Session,
  type Tally,
} from "./workloads.js";

type PeerOp = LimitOrderOptions | MarketOrderOptions | string;

/** Builds every option object up front; `open()` only creates empty books. */
export function peerDriver(list: OpList): Driver {
  const ops = prepare(list);
  return { name: "peer", open: () => new PeerSession(list, ops) };
}

function prepare(list: OpList): PeerOp[] {
  const gtc = "GTC" as TimeInForce;
  const ioc = "IOC" as TimeInForce;
  const ids: string[] = new Array<string>(list.length);
  const ops: PeerOp[] = new Array<PeerOp>(list.length);
  for (let i = 0; i < list.length; i++) {
    const side = list.side[i] === SIDE_BUY ? Side.BUY : Side.SELL;
    switch (list.kind[i]) {
      case OP_LIMIT: {
        const id = (ids[i] = `o${i}`);
        const timeInForce = list.tif[i] === TIF_GTC ? gtc : ioc;
        ops[i] = { id, side, size: list.qty[i]!, price: list.price[i]!, timeInForce };
        break;
      }
      case OP_MARKET:
        ops[i] = { side, size: list.qty[i]! };
        break;
      case OP_CANCEL: {
        const id = ids[list.target[i]!];
        if (id === undefined) throw new Error(`op ${i} cancels op ${list.target[i]}, which is not a limit order`);
        ops[i] = id;
        break;
      }
      default:
        throw new Error(`op ${i} has unknown kind ${list.kind[i]}`);
    }
  }
  return ops;
}

class PeerSession implements Session {
  private readonly books: OrderBook[];

  constructor(
    private readonly list: OpList,
    private readonly ops: readonly PeerOp[],
  ) {
    this.books = Array.from({ length: list.markets }, () => new OrderBook());
    const setup = newTally();
    for (let i = 0; i < list.setup; i++) this.step(i, setup);
    if (setup.rejects > 0 || setup.trades > 0)
      throw new Error(`peer setup: ${setup.rejects} rejects (${setup.firstReject}), ${setup.trades} trades`);
  }

  run(tally: Tally): void {
    const end = this.list.length;
    for (let i = this.list.setup; i < end; i++) this.step(i, tally);
  }

  runTimed(tally: Tally, histogram: Histogram): void {
    const end = this.list.length;
    for (let i = this.list.setup; i < end; i++) {
      const t0 = hrtime.bigint();
      this.step(i, tally);
      const t1 = hrtime.bigint();
      histogram.recordValue(Number(t1 - t0));
    }
  }

  private step(i: number, tally: Tally): void {
    const book = this.books[this.list.market[i]!]!;
    const op = this.ops[i]!;
    switch (this.list.kind[i]) {
      case OP_LIMIT: {
        const o = op as LimitOrderOptions;
        count(book.limit(o), o.id, o.size, tally);
        return;
      }
      case OP_MARKET: {
        const o = op as MarketOrderOptions;
        count(book.market(o), undefined, o.size, tally);
        return;
      }
      default:
        if (book.cancel(op as string) === undefined) refuse(tally, `cancel of ${op as string}: no such order`);
    }
  }
}

/**
 * Trades are the resting orders the taker touched: the makers in `done` (which
 * also lists the taker itself when it filled completely) plus a maker left
 * partially filled in `partial` (which holds the taker instead when it rests).
 */
function count(r: IProcessOrder, takerId: string | undefined, size: number, tally: Tally): void {
  if (r.err !== null) {
    refuse(tally, r.err.message);
    return;
  }
  const done = r.done;
  for (let k = 0; k < done.length; k++) if (done[k]!.id !== takerId) tally.trades++;
  if (r.partial !== null && r.partial.id !== takerId) tally.trades++;
  tally.tradedQty += size - r.quantityLeft;
}

function refuse(tally: Tally, why: string): void {
  if (tally.rejects++ === 0) tally.firstReject = why;
}
