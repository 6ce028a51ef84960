import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { OrderActor } from "../src/order-actor.js";
import { TerminalOrders } from "../src/terminal-orders.js";
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
    fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.nat({ max: 1_000 }), { maxLength: 200 }), (max, ns) => {
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

test.run();
