import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ReferenceModel } from "../src/model/index.js";
import { PartitionEngine } from "../src/index.js";
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
