import { test } from "uvu";
import * as assert from "uvu/assert";
import type { CancelledEvent, RejectedEvent } from "../src/types.js";
import { Harness } from "./support/harness.js";

test("price-time priority: better price first, then earlier order; trades at the maker's price", () => {
  const h = new Harness();
  const a = h.place("a", "sell", 101, 5).id;
  const b = h.place("b", "sell", 100, 5).id;
  const c = h.place("c", "sell", 100, 5).id;
  const t = h.place("d", "buy", 101, 12);
  assert.equal(h.trades(t.events), [
    { maker: b, taker: t.id, price: 100, qty: 5 },
    { maker: c, taker: t.id, price: 100, qty: 5 },
    { maker: a, taker: t.id, price: 101, qty: 2 },
  ]);
  assert.is(h.engine.query("M", a)!.remaining, 3);
  assert.is(h.engine.query("M", t.id)!.status, "filled");
});

test("market orders are bounded by the protection price, else by the band", () => {
  const h = new Harness();
  h.place("a", "sell", 100, 1);
  h.place("a", "sell", 140, 1);
  const p = h.place("b", "buy", undefined, 5, { protectionPrice: 120 });
  assert.equal(p.types, ["accepted", "trade", "cancelled"]);
  assert.is((p.events.find((e) => e.type === "cancelled") as CancelledEvent).reason, "ioc_remainder");
  const q = h.place("b", "buy", undefined, 5);
  assert.equal(h.trades(q.events).map((t) => t.price), [140]);
  const gtc = h.place("b", "buy", undefined, 5, { tif: "GTC" });
  assert.is((gtc.events[0] as RejectedEvent).code, "invalid_value");
});

test("IOC cancels its remainder; FOK trades all or nothing", () => {
  const h = new Harness();
  h.place("a", "sell", 100, 3);
  assert.equal(h.place("b", "buy", 100, 5, { tif: "FOK" }).types, ["accepted", "cancelled"]);
  assert.is(h.engine.depth("M")!.asks[0]!.qty, 3, "FOK left the book untouched");
  assert.equal(h.place("b", "buy", 100, 3, { tif: "FOK" }).types, ["accepted", "trade"]);
  h.place("a", "sell", 100, 3);
  assert.equal(h.place("b", "buy", 100, 5, { tif: "IOC" }).types, ["accepted", "trade", "cancelled"]);
});

test("post-only is rejected when it would take, accepted when it rests", () => {
  const h = new Harness();
  h.place("a", "sell", 100, 3);
  assert.is((h.place("b", "buy", 100, 1, { postOnly: true }).events[0] as RejectedEvent).code, "post_only_would_take");
  assert.equal(h.place("b", "buy", 99, 1, { postOnly: true }).types, ["accepted"]);
});

test("self-trade prevention: each mode", () => {
  const run = (stp: "cancel_taker" | "cancel_maker" | "cancel_both" | "decrement" | "none", takerQty: number) => {
    const h = new Harness();
    const maker = h.place("a", "sell", 100, 4).id;
    h.place("z", "sell", 101, 10);
    const t = h.place("a", "buy", 101, takerQty, { stp });
    return { h, maker, t };
  };
  let r = run("cancel_taker", 6);
  assert.equal(r.t.types, ["accepted", "cancelled"]);
  assert.is(r.h.engine.query("M", r.maker)!.status, "open");
  r = run("cancel_maker", 6);
  assert.equal(r.t.types, ["accepted", "cancelled", "trade"]);
  assert.is(r.h.engine.query("M", r.maker)!.status, "cancelled");
  r = run("cancel_both", 6);
  assert.equal(r.t.types, ["accepted", "cancelled", "cancelled"]);
  r = run("decrement", 6);
  assert.equal(r.t.types, ["accepted", "cancelled", "amended", "trade"], "maker 4 cancelled, taker 6 -> 2, then trades 2");
  r = run("decrement", 3);
  assert.equal(r.t.types, ["accepted", "amended", "cancelled"], "maker 4 -> 1, taker cancelled");
  assert.is(r.h.engine.query("M", r.maker)!.remaining, 1);
  r = run("none", 6);
  assert.equal(r.t.types, ["accepted", "trade", "trade"]);
});

test("amend: quantity down keeps priority; price change or quantity up loses it", () => {
  const h = new Harness();
  const a = h.place("a", "buy", 100, 5).id;
  const b = h.place("b", "buy", 100, 5).id;
  h.amend("a", a, { qty: 2 });
  assert.equal(h.trades(h.place("s", "sell", 100, 1).events)[0]!.maker, a, "a kept priority");
  h.amend("a", a, { qty: 6 });
  assert.equal(h.trades(h.place("s", "sell", 100, 1).events)[0]!.maker, b, "a lost priority");
  const cross = h.amend("b", b, { price: 101 });
  assert.equal(cross.filter((e) => e.type !== "l2").map((e) => e.type), ["amended"]);
  h.place("s", "sell", 102, 1);
  const m = h.amend("b", b, { price: 102 });
  assert.equal(m.filter((e) => e.type !== "l2").map((e) => e.type), ["amended", "trade"], "an amend that crosses trades");
  assert.is((h.amend("b", b, { price: 102 })[0] as RejectedEvent).code, "no_change");
});

test("cancel: owner only, once; unknown orders are rejected with a reason", () => {
  const h = new Harness();
  const a = h.place("a", "buy", 100, 5).id;
  assert.is((h.cancel("b", a)[0] as RejectedEvent).code, "not_owner");
  assert.is(h.cancel("a", a)[0]!.type, "cancelled");
  assert.is((h.cancel("a", a)[0] as RejectedEvent).code, "order_not_open");
  assert.is((h.cancel("a", 424242)[0] as RejectedEvent).code, "unknown_order");
});

test("cancelAll cancels the account's orders oldest first, optionally in one market", () => {
  const h = new Harness();
  h.send({ kind: "market", cmdId: "m-N", account: "admin", symbol: "N", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 10, refPrice: 100, bandBps: 100, state: "open" });
  const a1 = h.place("a", "buy", 90, 1).id;
  h.send({ kind: "place", cmdId: "n1", account: "a", market: "N", side: "buy", type: "limit", price: 100, qty: 1, tif: "GTC" });
  const a2 = h.place("a", "sell", 110, 1).id;
  h.place("b", "sell", 111, 1);
  const ev = h.send({ kind: "cancelAll", cmdId: "ca", account: "a", market: "M" });
  assert.equal(ev.filter((e) => e.type === "cancelled").map((e) => (e as CancelledEvent).orderId), [a1, a2]);
  assert.is(h.send({ kind: "cancelAll", cmdId: "ca2", account: "a" }).filter((e) => e.type === "cancelled").length, 1);
});

test("GTD orders expire by log time, never the wall clock; a clock that goes backwards does not un-expire", () => {
  const h = new Harness();
  const g = h.place("a", "buy", 100, 1, { tif: "GTD", expireAt: 1_500 }).id;
  assert.is(h.send({ kind: "tick", cmdId: "t1", account: "admin" }, 1_499).length, 0);
  const ev = h.send({ kind: "tick", cmdId: "t2", account: "admin" }, 1_500);
  assert.equal(ev.map((e) => e.type), ["expired", "l2"]);
  assert.is(h.engine.query("M", g)!.status, "expired");
  const late = h.place("a", "buy", 100, 1, { tif: "GTD", expireAt: 1_400 });
  assert.is((late.events[0] as RejectedEvent).code, "expire_in_past");
});

test("halted markets refuse new orders and amends but allow cancels", () => {
  const h = new Harness();
  const a = h.place("a", "buy", 100, 5).id;
  h.send({ kind: "market", cmdId: "halt", account: "admin", symbol: "M", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1000, refPrice: 100, bandBps: 5000, state: "halted" });
  assert.is((h.place("b", "sell", 100, 1).events[0] as RejectedEvent).code, "market_halted");
  assert.is((h.amend("a", a, { qty: 1 })[0] as RejectedEvent).code, "market_halted");
  assert.is(h.cancel("a", a)[0]!.type, "cancelled");
  const notAdmin = h.send({ kind: "market", cmdId: "evil", account: "mallory", symbol: "M", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1, refPrice: 1, bandBps: 1, state: "open" });
  assert.is((notAdmin[0] as RejectedEvent).code, "not_authorized");
});

test("a deep book: best price is the end of the level array, inner cancels keep it sorted", () => {
  const h = new Harness();
  h.send({ kind: "market", cmdId: "deep", account: "admin", symbol: "M", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 10_000, refPrice: 100_000, bandBps: 9000, state: "open" });
  const ids: number[] = [];
  for (let p = 50_000; p < 60_000; p++) ids.push(h.place("a", "buy", p, 1).id);
  for (let i = 1; i < ids.length; i += 2) h.cancel("a", ids[i]!);
  h.engine.check();
  assert.is(h.engine.depth("M", 1)!.bids[0]!.price, 59_998);
  const sweep = h.place("b", "sell", 50_000, 5000);
  assert.is(h.trades(sweep.events).length, 5000);
  assert.is(h.engine.restingOrders, 0);
  h.engine.check();
});

test.run();
