/**
 * Driver for Bourse's engine: one `PartitionEngine` (partition 0) holding every
 * market of the workload, fed the way the node feeds it: each command with the
 * next input sequence number and a log time.
 *
 * Command k of the prepared list (markets first, then the ops) is applied with
 * inSeq k + 1, so the order placed by op j has id `markets + j + 1`, and its
 * cancel names that id. Places use `stp: "none"`, as the peer has no account
 * checks on the paths we drive.
 */
import { hrtime } from "node:process";
import type { Histogram } from "hdr-histogram-js";
import { PartitionEngine } from "../src/index.js";
import type { Command, EngineEvent, PlaceCommand } from "../src/types.js";
import {
  OP_CANCEL,
  OP_LIMIT,
  OP_MARKET,
  SIDE_BUY,
  TIF_GTC,
  accountName,
  accountsCount,
  marketRules,
  marketSymbol,
  newTally,
  type Driver,
  type OpList,
  type Session,
  type Tally,
} from "./workloads.js";

/** Log time handed to every command; nothing in these workloads expires. */
export const logTimeMs = 1_700_000_000_000;

/** Builds every command object up front; `open()` only replays the setup. */
export function oursDriver(list: OpList): Driver {
  const commands = prepare(list);
  return { name: "ours", open: () => new OursSession(list, commands) };
}

function prepare(list: OpList): Command[] {
  const accounts = Array.from({ length: accountsCount }, (_, i) => accountName(i));
  const symbols = Array.from({ length: list.markets }, (_, i) => marketSymbol(i));
  const base = list.markets;
  const commands: Command[] = new Array<Command>(base + list.length);
  for (let m = 0; m < base; m++) {
    commands[m] = { kind: "market", cmdId: `c${m + 1}`, account: "admin", symbol: symbols[m]!, ...marketRules, state: "open" };
  }
  for (let i = 0; i < list.length; i++) {
    const k = base + i;
    const cmdId = `c${k + 1}`;
    const account = accounts[list.account[i]!]!;
    const market = symbols[list.market[i]!]!;
    const side = list.side[i] === SIDE_BUY ? "buy" : "sell";
    let c: Command;
    switch (list.kind[i]) {
      case OP_LIMIT: {
        const tif = list.tif[i] === TIF_GTC ? "GTC" : "IOC";
        c = { kind: "place", cmdId, account, market, side, type: "limit", price: list.price[i]!, qty: list.qty[i]!, tif, stp: "none" } satisfies PlaceCommand;
        break;
      }
      case OP_MARKET:
        c = { kind: "place", cmdId, account, market, side, type: "market", qty: list.qty[i]!, tif: "IOC", stp: "none" } satisfies PlaceCommand;
        break;
      case OP_CANCEL:
        c = { kind: "cancel", cmdId, account, market, orderId: base + list.target[i]! + 1 };
        break;
      default:
        throw new Error(`op ${i} has unknown kind ${list.kind[i]}`);
    }
    commands[k] = c;
  }
  return commands;
}

class OursSession implements Session {
  private readonly engine = new PartitionEngine({ partition: 0 });

  constructor(
    private readonly list: OpList,
    private readonly commands: readonly Command[],
  ) {
    const setup = newTally();
    for (let k = 0; k < list.markets + list.setup; k++) this.step(k, setup);
    if (setup.rejects > 0 || setup.trades > 0)
      throw new Error(`ours setup: ${setup.rejects} rejects (${setup.firstReject}), ${setup.trades} trades`);
  }

  run(tally: Tally): void {
    const end = this.commands.length;
    for (let k = this.list.markets + this.list.setup; k < end; k++) this.step(k, tally);
  }

  runTimed(tally: Tally, histogram: Histogram): void {
    const end = this.commands.length;
    for (let k = this.list.markets + this.list.setup; k < end; k++) {
      const t0 = hrtime.bigint();
      this.step(k, tally);
      const t1 = hrtime.bigint();
      histogram.recordValue(Number(t1 - t0));
    }
  }

  private step(k: number, tally: Tally): void {
    const events = this.engine.apply(this.commands[k]!, k + 1, logTimeMs);
    for (let e = 0; e < events.length; e++) count(events[e]!, tally);
  }
}

function count(e: EngineEvent, tally: Tally): void {
  if (e.type === "trade") {
    tally.trades++;
    tally.tradedQty += e.qty;
  } else if (e.type === "rejected") {
    if (tally.rejects++ === 0) tally.firstReject = `${e.code}: ${e.message}`;
  }
}
