import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { OrderStore } from "../src/order-store.js";
import { TerminalOrders } from "../src/terminal-orders.js";
import { PartitionEngine } from "../src/index.js";
import { ORDER_TYPES, STP_MODES, TIFS, type OrderView } from "../src/types.js";

// Terminal orders live in a ring of rows of typed columns: the most recent `max`
// stay resident, each reads back exactly as it was added, and rows freed by
// evictions are reused without mixing orders up (cmdIds packed or kept as text).

const store = new OrderStore();

/** A finished order in `store` (its slot): half of them with a UUID cmdId. */
const order = (id: number, n: number): number => {
  const cmdId = n % 2 === 0 ? `${id.toString(16).padStart(8, "0")}-0000-4000-8000-${n.toString(16).padStart(12, "0")}` : `c${id}`;
  const o = store.alloc(
    id, cmdId, `a${n % 3}`, `M${n % 2}`, n % 2 === 0, ORDER_TYPES[n % 2]!, TIFS[n % 4]!, STP_MODES[n % 5]!,
    n % 3 === 0, n % 4 === 3 ? 1_000 + n : 0, 100 + (n % 50), 1 + (n % 7),
  );
  store.open(o);
  if (n % 3 === 0) store.cancel(o);
  else store.fill(o, store.remaining(o));
  assert.is(store.cmdId(o), cmdId);
  return o;
};

test("TerminalOrders keeps the most recent `max` orders, least recently added first", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100 }), fc.array(fc.nat({ max: 1_000 }), { maxLength: 300 }), (max, ns) => {
      const t = new TerminalOrders(max);
      const added: OrderView[] = [];
      ns.forEach((n, i) => {
        const o = order(i + 1, n);
        const v = store.view(o);
        t.add(store, o);
        store.release(o);
        added.push(v);
        const resident = added.slice(-max);
        assert.is(t.size, resident.length);
        assert.equal(t.view(v.orderId), v);
        if (added.length > max) assert.is(t.view(added[added.length - max - 1]!.orderId), undefined, "passivated");
      });
      const resident = added.slice(-max);
      assert.equal(t.tuples().map((tu) => tu[0]), resident.map((v) => v.orderId));
      for (const v of resident) assert.equal(t.view(v.orderId), v);
    }),
    { numRuns: 300 },
  );
});

test("ids that share their low 32 bits (one index tag) are told apart", () => {
  const t = new TerminalOrders(4);
  const ids = [7, 7 + 2 ** 32, 7 + 2 ** 40, 8, 7 + 3 * 2 ** 32];
  const views = ids.map((id, n) => {
    const o = order(id, n);
    const v = store.view(o);
    t.add(store, o);
    store.release(o);
    return v;
  });
  assert.is(t.view(7), undefined, "the oldest was passivated");
  for (const v of views.slice(1)) assert.equal(t.view(v.orderId), v);
  assert.equal(t.tuples().map((tu) => tu[0]), ids.slice(1));
  const again = new TerminalOrders(4);
  for (const tu of t.tuples()) again.addTuple(tu);
  assert.equal(again.tuples(), t.tuples());
});

test("max 0: terminal orders are passivated at once, and an engine configured so works and snapshots", () => {
  const t = new TerminalOrders(0);
  const o = order(1, 1);
  t.add(store, o);
  store.release(o);
  assert.is(t.size, 0);
  assert.is(t.view(1), undefined);
  assert.equal(t.tuples(), []);
  const e = new PartitionEngine({ partition: 1, terminalOrdersMax: 0 });
  e.apply({ kind: "market", cmdId: "m", account: "admin", symbol: "S", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 100, refPrice: 100, bandBps: 5000, state: "open" }, 1, 1);
  e.apply({ kind: "place", cmdId: "p1", account: "a", market: "S", side: "buy", type: "limit", tif: "GTC", price: 100, qty: 1 }, 2, 1);
  e.apply({ kind: "place", cmdId: "p2", account: "b", market: "S", side: "sell", type: "limit", tif: "GTC", price: 100, qty: 1 }, 3, 1);
  assert.is(e.query("S", 2), undefined, "filled, and not kept");
  const again = PartitionEngine.restore(e.snapshot(), { partition: 1, terminalOrdersMax: 0 });
  assert.equal(Buffer.from(again.snapshot()), Buffer.from(e.snapshot()));
});

test.run();
