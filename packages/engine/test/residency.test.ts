import { test } from "uvu";
import * as assert from "uvu/assert";
import type { DuplicateEvent } from "../src/types.js";
import { Harness } from "./support/harness.js";

test("a repeated cmdId has no second effect and restates the original outcome", () => {
  const h = new Harness();
  const cmd = { kind: "place", cmdId: "once", account: "a", market: "M", side: "buy", type: "limit", price: 100, qty: 5, tif: "GTC" } as const;
  const first = h.send(cmd);
  const again = h.send(cmd);
  assert.equal(again.map((e) => e.type), ["duplicate"]);
  assert.equal((again[0] as DuplicateEvent).original, { result: "accepted", orderId: first[0]!.type === "accepted" ? first[0]!.orderId : -1 });
  assert.is(h.engine.restingOrders, 1);
  const bad = { ...cmd, cmdId: "bad", price: 100_000 };
  h.send(bad);
  assert.equal((h.send(bad)[0] as DuplicateEvent).original.code, "price_out_of_band");
});

test("the testNoIdempotency switch applies a repeated cmdId again (a broken build for the simulation)", () => {
  const h = new Harness({ testNoIdempotency: true });
  const cmd = { kind: "place", cmdId: "twice", account: "a", market: "M", side: "buy", type: "limit", price: 100, qty: 5, tif: "GTC" } as const;
  h.send(cmd);
  assert.equal(h.send(cmd).filter((e) => e.type !== "l2").map((e) => e.type), ["accepted"]);
  assert.is(h.engine.restingOrders, 2);
  // Both orders can finish (the second is not in the idempotency index) and the state stays consistent.
  const sell = { ...cmd, cmdId: "sell", side: "sell", account: "b", qty: 10 } as const;
  assert.equal(h.send(sell).filter((e) => e.type === "trade").length, 2);
  assert.is(h.engine.restingOrders, 0);
  h.engine.check();
});

test("terminal orders stay resident up to the bound, then are passivated; memory stays bounded", () => {
  const h = new Harness({ terminalOrdersMax: 100, idempotencyMax: 500, checkpointCommandsMax: 1000 });
  let first = 0;
  for (let i = 0; i < 20_000; i++) {
    const buy = h.place("a", "buy", 100, 1).id;
    if (i === 0) first = buy;
    h.place("b", "sell", 100, 1);
  }
  assert.is(h.engine.restingOrders, 0);
  assert.is(h.engine.query("M", first), undefined, "passivated");
  const last = h.engine.query("M", h.inSeq);
  assert.ok(last && last.status === "filled", "recent terminal orders are still resident");
  const snap = h.engine.snapshot();
  assert.ok(snap.length < 100 * 200 + 500 * 60, `snapshot ${snap.length} bytes is bounded by the residency limits`);
});

test.run();
