import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ReferenceModel } from "../src/model/index.js";
import { PartitionEngine, type Command } from "../src/index.js";
import { commandLog } from "./support/commands.js";

/** Large enough that nothing is passivated in these runs, as in the (unbounded) model. */
const roomy = { partition: 7, terminalOrdersMax: 100_000, idempotencyMax: 100_000 };

test("engine emits exactly the reference model's events, and its books stay consistent", () => {
  fc.assert(
    fc.property(commandLog(1, 80), (log) => {
      const engine = new PartitionEngine(roomy);
      const model = new ReferenceModel(7);
      for (const s of log) {
        const got = engine.apply(s.cmd, s.inSeq, s.ts);
        const want = model.apply(s.cmd, s.inSeq, s.ts);
        assert.equal(got, want, `command ${s.inSeq}: ${JSON.stringify(s.cmd)}`);
        engine.check();
      }
      for (const o of model.orders) {
        const v = engine.query(o.market, o.id);
        assert.ok(v, `order ${o.id} resident`);
        assert.is(v.remaining, o.remaining, `order ${o.id} remaining`);
        assert.is(v.filled, o.filled, `order ${o.id} filled`);
      }
    }),
    { numRuns: 2000 },
  );
});

test("a level emptied and replaced in one command reports its price once, at its first touch (found by the property above)", () => {
  const engine = new PartitionEngine(roomy);
  const model = new ReferenceModel(7);
  const sell = { kind: "place", account: "alice", market: "B", side: "sell", type: "limit", qty: 2, postOnly: true, stp: "none" } as const;
  const log: [Command, number][] = [
    [{ kind: "market", cmdId: "m", account: "admin", symbol: "B", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 200, refPrice: 1000, bandBps: 1000, state: "open" }, 1000],
    [{ ...sell, cmdId: "gtd", tif: "GTD", price: 1045, expireAt: 1001 }, 1000],
    [{ ...sell, cmdId: "gtc", tif: "GTC", price: 940 }, 1000],
    // At 1001 the GTD order expires (its level at 1045 is dropped), then the amend moves order 3 to 1045.
    [{ kind: "amend", cmdId: "up", account: "alice", market: "B", orderId: 3, price: 1045 }, 1001],
  ];
  log.forEach(([cmd, ts], i) => assert.equal(engine.apply(cmd, i + 1, ts), model.apply(cmd, i + 1, ts)));
});

test("per market, bought equals sold and no order fills beyond its quantity", () => {
  fc.assert(
    fc.property(commandLog(10, 80), (log) => {
      const engine = new PartitionEngine(roomy);
      const filled = new Map<number, number>();
      const size = new Map<number, number>();
      for (const s of log) {
        for (const e of engine.apply(s.cmd, s.inSeq, s.ts)) {
          if (e.type === "accepted") size.set(e.orderId, e.qty);
          if (e.type === "trade") {
            filled.set(e.maker, (filled.get(e.maker) ?? 0) + e.qty);
            filled.set(e.taker, (filled.get(e.taker) ?? 0) + e.qty);
          }
        }
      }
      for (const [id, f] of filled) {
        const v = engine.query(engine.markets().find((m) => engine.query(m, id))!, id)!;
        assert.ok(f <= v.qty, `order ${id} filled ${f} of ${v.qty}`);
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
