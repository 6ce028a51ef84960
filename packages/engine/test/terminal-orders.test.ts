import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { OrderActor } from "../src/order-actor.js";
import { TerminalOrders } from "../src/terminal-orders.js";
import { PartitionEngine } from "../src/index.js";
import { ORDER_TYPES, STP_MODES, TIFS } from "../src/types.js";

// Terminal orders live in an lru-cache of slots of flat columns: the most recent
// `max` stay resident, each reads back exactly as it was added, and slots freed by
// evictions are reused without mixing orders up.

const order = (id: number, n: number): OrderActor => {
  const o = new OrderActor(
    id, `c${id}`, `a${n % 3}`, `M${n % 2}`, n % 2 === 0, ORDER_TYPES[n % 2]!, TIFS[n % 4]!, STP_MODES[n % 5]!,
    n % 3 === 0, n % 4 === 3 ? 1_000 + n : 0, 100 + (n % 50), 1 + (n % 7),
  );
  o.open();
  if (n % 3 === 0) o.cancel();
  else o.fill(o.remaining);
  return o;
};

test("TerminalOrders keeps the most recent `max` orders, least recently added first", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100 }), fc.array(fc.nat({ max: 1_000 }), { maxLength: 300 }), (max, ns) => {
      const t = new TerminalOrders(max);
      const added: OrderActor[] = [];
      ns.forEach((n, i) => {
        const o = order(i + 1, n);
        t.add(o);
        added.push(o);
        const resident = added.slice(-max);
        assert.is(t.size, resident.length);
        assert.equal(t.peek(o.id)?.view(), o.view());
        if (added.length > max) assert.is(t.peek(added[added.length - max - 1]!.id), undefined, "passivated");
      });
      const resident = added.slice(-max);
      assert.equal(t.oldestFirst().map((o) => o.view()), resident.map((o) => o.view()));
      for (const o of resident) assert.equal(t.peek(o.id)?.view(), o.view());
    }),
    { numRuns: 300 },
  );
});

test("max 0: terminal orders are passivated at once, and an engine configured so works and snapshots", () => {
  const t = new TerminalOrders(0);
  t.add(order(1, 1));
  assert.is(t.size, 0);
  assert.is(t.peek(1), undefined);
  assert.equal(t.oldestFirst(), []);
  const e = new PartitionEngine({ partition: 1, terminalOrdersMax: 0 });
  e.apply({ kind: "market", cmdId: "m", account: "admin", symbol: "S", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 100, refPrice: 100, bandBps: 5000, state: "open" }, 1, 1);
  e.apply({ kind: "place", cmdId: "p1", account: "a", market: "S", side: "buy", type: "limit", tif: "GTC", price: 100, qty: 1 }, 2, 1);
  e.apply({ kind: "place", cmdId: "p2", account: "b", market: "S", side: "sell", type: "limit", tif: "GTC", price: 100, qty: 1 }, 3, 1);
  assert.is(e.query("S", 2), undefined, "filled, and not kept");
  const again = PartitionEngine.restore(e.snapshot(), { partition: 1, terminalOrdersMax: 0 });
  assert.equal(Buffer.from(again.snapshot()), Buffer.from(e.snapshot()));
});

test.run();
