import { Packr } from "msgpackr";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeCommand, decodeEvents, encodeCommand, encodeEvents, validateCommand, type DecodeResult } from "../src/codec.js";
import { COMMAND_KINDS, COMMAND_SCHEMAS } from "../src/command-schema.js";
import { limits } from "../src/limits.js";
import type { AnyCommand, CommandKind, EngineEvent, MarketSpec, RejectCode } from "../src/types.js";
import { REQUIRED, type CommandOf } from "./support/required-fields.js";


/** Every key of every command type, in types.ts order; the compiler checks it is complete and exact. */
const KEYS: { [K in CommandKind]: { [F in keyof CommandOf<K>]-?: true } } = {
  place: {
    kind: true, cmdId: true, account: true, market: true, side: true, type: true, price: true, qty: true,
    tif: true, expireAt: true, postOnly: true, stp: true, protectionPrice: true,
  },
  cancel: { kind: true, cmdId: true, account: true, market: true, orderId: true },
  amend: { kind: true, cmdId: true, account: true, market: true, orderId: true, price: true, qty: true },
  cancelAll: { kind: true, cmdId: true, account: true, market: true },
  market: {
    kind: true, cmdId: true, account: true, symbol: true, tickSize: true, lotSize: true, minQty: true,
    maxQty: true, refPrice: true, bandBps: true, state: true,
  },
  tick: { kind: true, cmdId: true, account: true },
  query: { kind: true, cmdId: true, account: true, market: true, orderId: true },
};

/** One fully populated, canonical command per kind. */
const SAMPLES: { [K in CommandKind]: CommandOf<K> } = {
  place: {
    kind: "place", cmdId: "c-place", account: "acc-1", market: "BTC-EUR", side: "buy", type: "limit", price: 2 ** 40,
    qty: 5, tif: "GTD", expireAt: 1_700_000_000_000, postOnly: true, stp: "cancel_taker", protectionPrice: 120,
  },
  cancel: { kind: "cancel", cmdId: "c-cancel", account: "acc-1", market: "BTC-EUR", orderId: 42 },
  amend: { kind: "amend", cmdId: "c-amend", account: "acc-1", market: "BTC-EUR", orderId: 42, price: 101, qty: 3 },
  cancelAll: { kind: "cancelAll", cmdId: "c-all", account: "acc-1", market: "BTC-EUR" },
  market: {
    kind: "market", cmdId: "c-market", account: "admin", symbol: "BTC-EUR", tickSize: 1, lotSize: 1, minQty: 1,
    maxQty: 1000, refPrice: 100, bandBps: 1000, state: "halted",
  },
  tick: { kind: "tick", cmdId: "c-tick", account: "admin" },
  query: { kind: "query", cmdId: "c-query", account: "acc-1", market: "BTC-EUR", orderId: 7 },
};


const utf8 = new TextEncoder();
const json = (v: unknown): Uint8Array => utf8.encode(JSON.stringify(v));
/** A plain msgpackr that writes whatever it is given (NaN, BigInt, foreign fields...). */
const raw = new Packr({ useRecords: false });
const msgpack = (v: unknown): Uint8Array => raw.pack(v);
const place = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  kind: "place", cmdId: "c1", account: "a1", market: "BTC-EUR", side: "buy", type: "limit", price: 100, qty: 5, ...extra,
});

function ok(r: DecodeResult): AnyCommand {
  if (r.ok) return r.cmd;
  throw new Error(`expected ok, got ${r.code}: ${r.message}`);
}

function rejects(r: DecodeResult, code: RejectCode, ...mentions: string[]): Extract<DecodeResult, { ok: false }> {
  if (r.ok) throw new Error(`expected ${code}, got ok ${JSON.stringify(r.cmd)}`);
  assert.is(r.code, code, `expected ${code}, got ${r.code}: ${r.message}`);
  for (const m of mentions) assert.ok(r.message.includes(m), `message ${JSON.stringify(r.message)} should mention ${m}`);
  return r;
}

const without = (o: object, key: string): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...o };
  delete copy[key];
  return copy;
};

// ------------------------------------------------------------- schema & defaults

test("schema lists exactly the fields of each command type, in types.ts order", () => {
  assert.equal([...COMMAND_KINDS].sort(), Object.keys(KEYS).sort());
  for (const kind of COMMAND_KINDS) {
    assert.equal(["kind", ...COMMAND_SCHEMAS[kind].fields.map((f) => f.name)], Object.keys(KEYS[kind]), kind);
  }
});

test("JSON place: defaults tif GTC for limit, stp/postOnly left absent, canonical key order", () => {
  const cmd = ok(decodeCommand(utf8.encode('{"qty":5,"type":"limit","price":100,"side":"buy","market":"BTC-EUR","account":"a1","cmdId":"c1","kind":"place"}')));
  assert.equal(cmd, { kind: "place", cmdId: "c1", account: "a1", market: "BTC-EUR", side: "buy", type: "limit", price: 100, qty: 5, tif: "GTC" });
  assert.equal(Object.keys(cmd), ["kind", "cmdId", "account", "market", "side", "type", "price", "qty", "tif"]);
});

test("JSON is detected after leading whitespace", () => {
  ok(decodeCommand(utf8.encode(` \t\r\n${JSON.stringify(place())}\n`)));
});

test("place market order defaults tif IOC; an explicit tif is kept", () => {
  assert.is((ok(validateCommand(place({ type: "market", price: undefined }))) as CommandOf<"place">).tif, "IOC");
  assert.is((ok(validateCommand(place({ tif: "FOK" }))) as CommandOf<"place">).tif, "FOK");
});

test("market command defaults state to open", () => {
  const cmd = ok(validateCommand(without(SAMPLES.market, "state"))) as CommandOf<"market">;
  assert.is(cmd.state, "open");
});

test("market rules are not the codec's: limit without price, GTD without expireAt, market with price", () => {
  ok(validateCommand(place({ price: undefined })));
  ok(validateCommand(place({ tif: "GTD" })));
  ok(validateCommand(place({ type: "market", price: 7, tif: "GTC" })));
});

test("cancelAll with and without market; tick with nothing else", () => {
  assert.equal(ok(validateCommand(SAMPLES.cancelAll)), SAMPLES.cancelAll);
  assert.equal(ok(validateCommand(without(SAMPLES.cancelAll, "market"))), without(SAMPLES.cancelAll, "market"));
  assert.equal(ok(validateCommand(SAMPLES.tick)), SAMPLES.tick);
});

test("amend with only price or only qty", () => {
  ok(validateCommand(without(SAMPLES.amend, "qty")));
  ok(validateCommand(without(SAMPLES.amend, "price")));
});

test("result is a fresh object; the input is not modified", () => {
  const input = place();
  const before = { ...input };
  const cmd = ok(validateCommand(input));
  assert.ok((cmd as unknown) !== input);
  assert.equal(input, before);
});

test("a key whose value is undefined counts as absent", () => {
  const cmd = ok(validateCommand(place({ stp: undefined, bogus: undefined })));
  assert.not.ok("stp" in cmd);
});

test("boundary values are accepted", () => {
  ok(validateCommand(place({ cmdId: "x".repeat(limits.idLengthMax), account: "y".repeat(limits.idLengthMax) })));
  ok(validateCommand(place({ market: "M".repeat(limits.symbolLengthMax), price: limits.priceMax, qty: limits.qtyMax })));
  ok(validateCommand(place({ price: 1, qty: 1, expireAt: 0, protectionPrice: 1 })));
  ok(validateCommand(place({ expireAt: Number.MAX_SAFE_INTEGER })));
  ok(validateCommand({ ...SAMPLES.cancel, orderId: Number.MAX_SAFE_INTEGER }));
  ok(validateCommand({ ...SAMPLES.market, bandBps: limits.bandBpsMax }));
  ok(validateCommand({ ...SAMPLES.market, bandBps: 1 }));
  ok(validateCommand(place({ cmdId: "ünïcødé-🚀" })));
});

// ------------------------------------------------------------------ round trips

for (const kind of COMMAND_KINDS) {
  test(`round trip ${kind}: encodeCommand -> decodeCommand, deterministic bytes`, () => {
    const bytes = encodeCommand(SAMPLES[kind]);
    const cmd = ok(decodeCommand(bytes));
    assert.equal(cmd, SAMPLES[kind]);
    assert.equal(Object.keys(cmd), Object.keys(SAMPLES[kind]));
    assert.equal(Buffer.from(encodeCommand(cmd)), Buffer.from(bytes));
  });
  test(`round trip ${kind}: JSON bytes -> decodeCommand`, () => {
    assert.equal(ok(decodeCommand(json(SAMPLES[kind]))), SAMPLES[kind]);
  });
}

test("msgpack input written by another encoder (plain maps, any key order)", () => {
  const cmd = ok(decodeCommand(msgpack({ qty: 5, kind: "place", side: "sell", market: "M", type: "market", account: "a", cmdId: "c" })));
  assert.equal(cmd, { kind: "place", cmdId: "c", account: "a", market: "M", side: "sell", type: "market", qty: 5, tif: "IOC" });
});

test("integers beyond 32 bits are written as msgpack int64, not float64", () => {
  const bytes = Buffer.from(encodeCommand(SAMPLES.place));
  assert.ok(bytes.includes(Buffer.from([0xd3, 0, 0, 1, 0, 0, 0, 0, 0])), "price 2^40 as int64");
  assert.not.ok(bytes.includes(0xcb), "no float64");
});

/** Hand-written msgpack, as a non-JS client would send it: a fixmap of fixstr keys to raw value bytes. */
const fixstr = (v: string): number[] => [0xa0 | v.length, ...utf8.encode(v)];
const cancelWithOrderId = (value: number[]): Uint8Array =>
  new Uint8Array([
    0x85, ...fixstr("kind"), ...fixstr("cancel"), ...fixstr("cmdId"), ...fixstr("c"), ...fixstr("account"), ...fixstr("a"),
    ...fixstr("market"), ...fixstr("M"), ...fixstr("orderId"), ...value,
  ]);
const orderIdOf = (r: DecodeResult): number => (ok(r) as CommandOf<"cancel">).orderId;

test("msgpack uint64/int64/float64 integers in the safe range decode to numbers", () => {
  assert.is(orderIdOf(decodeCommand(cancelWithOrderId([0xcf, 0, 0, 0, 0, 0, 0, 0, 9]))), 9);
  assert.is(orderIdOf(decodeCommand(cancelWithOrderId([0xd3, 0, 0, 1, 0, 0, 0, 0, 0]))), 2 ** 40);
  assert.is(orderIdOf(decodeCommand(cancelWithOrderId([0xcb, 0x42, 0x70, 0, 0, 0, 0, 0, 0]))), 2 ** 40);
  assert.is(orderIdOf(decodeCommand(cancelWithOrderId([0xcf, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))), Number.MAX_SAFE_INTEGER);
});

test("64-bit integers beyond the safe range are rejected, never rounded", () => {
  rejects(decodeCommand(msgpack({ ...SAMPLES.cancel, orderId: 2n ** 60n })), "invalid_value", "orderId", "bigint");
  rejects(decodeCommand(cancelWithOrderId([0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0])), "invalid_value", "orderId"); // 2^53
  rejects(decodeCommand(cancelWithOrderId([0xcf, 0x80, 0, 0, 0, 0, 0, 0, 5])), "invalid_value", "orderId");
  rejects(decodeCommand(utf8.encode(JSON.stringify(SAMPLES.cancel).replace("42", "9007199254740993"))), "invalid_value", "orderId");
  rejects(validateCommand({ ...SAMPLES.cancel, orderId: 5n }), "invalid_value", "orderId");
});

test("encodeEvents/decodeEvents round trip every event type", () => {
  const h = { partition: 3, inSeq: 2 ** 35, ts: 1_700_000_000_123 };
  const spec: MarketSpec = { symbol: "M", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 10, refPrice: 5, bandBps: 100, state: "open" };
  const events: EngineEvent[] = [
    { ...h, seq: 1, type: "accepted", cmdId: "c", account: "a", market: "M", orderId: 1, side: "buy", orderType: "limit", price: 2 ** 40, qty: 1, tif: "GTC" },
    { ...h, seq: 2, type: "rejected", cmdId: "c", account: "a", market: "M", orderId: 0, code: "invalid_tick", message: "bad tick" },
    { ...h, seq: 3, type: "trade", market: "M", tradeId: 1, price: 5, qty: 1, takerSide: "sell", maker: 1, makerAccount: "a", makerRemaining: 0, taker: 2, takerAccount: "b", takerRemaining: 0 },
    { ...h, seq: 4, type: "cancelled", cmdId: "c", account: "a", market: "M", orderId: 1, remaining: 3, reason: "user" },
    { ...h, seq: 5, type: "amended", cmdId: "c", account: "a", market: "M", orderId: 1, price: 5, remaining: 2, priorityKept: false },
    { ...h, seq: 6, type: "expired", account: "a", market: "M", orderId: 1, remaining: 2 },
    { ...h, seq: 7, type: "duplicate", cmdId: "c", account: "a", original: { result: "rejected", orderId: 0, code: "unknown_market" } },
    { ...h, seq: 8, type: "l2", market: "M", side: "buy", price: 5, qty: 0 },
    { ...h, seq: 9, type: "market", cmdId: "c", spec },
  ];
  assert.equal(decodeEvents(encodeEvents(events)), events);
  assert.equal(decodeEvents(encodeEvents([])), []);
  // interop: a default decoder sees real integers (int64 as bigint), not floats
  const plain = new Packr({ useRecords: false }).unpack(Buffer.from(encodeEvents(events.slice(0, 1))));
  assert.is(plain[0].ts, 1_700_000_000_123n);
});

test("decodeEvents throws on bytes that are not an event array", () => {
  assert.throws(() => decodeEvents(msgpack({ type: "l2" })), /array/);
  assert.throws(() => decodeEvents(msgpack([1])), /not an event/);
});

// -------------------------------------------------------------------- malformed

test("malformed: not a plain object (array, null, number, string, bytes)", () => {
  for (const v of [[], [place()], null, 42, "place", true]) {
    rejects(validateCommand(v), "malformed", "map/object");
    rejects(decodeCommand(msgpack(v)), "malformed", "map/object");
  }
  rejects(validateCommand(new Uint8Array(3)), "malformed", "bytes");
  rejects(validateCommand(new Map([["kind", "tick"]])), "malformed", "Map");
  rejects(decodeCommand(utf8.encode("[1,2]")), "malformed");
});

test("malformed: empty input, whitespace only", () => {
  rejects(decodeCommand(new Uint8Array()), "malformed", "empty");
  rejects(decodeCommand(utf8.encode("  \n")), "malformed", "whitespace");
});

test("malformed: bad JSON, invalid UTF-8 in JSON", () => {
  rejects(decodeCommand(utf8.encode('{"kind":"tick",')), "malformed", "JSON");
  rejects(decodeCommand(utf8.encode('{"kind":"tick"} x')), "malformed", "JSON");
  const bad = utf8.encode('{"kind":"tick","cmdId":"c?","account":"a"}');
  bad[bad.indexOf(0x3f)] = 0xff;
  rejects(decodeCommand(bad), "malformed", "JSON");
});

test("malformed: truncated msgpack, trailing bytes, non-bytes input", () => {
  const bytes = encodeCommand(SAMPLES.cancel);
  rejects(decodeCommand(bytes.subarray(0, bytes.length - 1)), "malformed", "msgpack");
  rejects(decodeCommand(new Uint8Array([...bytes, 0x00])), "malformed", "msgpack");
  rejects(decodeCommand("{}" as unknown as Uint8Array), "malformed", "bytes");
});

test("malformed: exotic in-process values never throw", () => {
  const hostile = Object.defineProperty({ kind: "tick" }, "cmdId", { enumerable: true, get: () => { throw new Error("boom"); } });
  rejects(validateCommand(hostile), "malformed", "boom");
});

// --------------------------------------------------------------------- too_long

test("too_long: input over commandBytesMax is rejected before parsing", () => {
  const big = utf8.encode(JSON.stringify(place({ pad: "x".repeat(limits.commandBytesMax) })));
  const r = rejects(decodeCommand(big), "too_long", String(limits.commandBytesMax));
  assert.is(r.cmdId, "");
  const exact = new Uint8Array(limits.commandBytesMax).fill(0x20);
  rejects(decodeCommand(exact), "malformed"); // at the limit: parsed (and found empty)
});

test("too_long: cmdId, account, market, symbol over their max", () => {
  rejects(validateCommand(place({ cmdId: "x".repeat(limits.idLengthMax + 1) })), "too_long", "cmdId", String(limits.idLengthMax));
  rejects(validateCommand(place({ account: "x".repeat(limits.idLengthMax + 1) })), "too_long", "account");
  rejects(validateCommand(place({ market: "M".repeat(limits.symbolLengthMax + 1) })), "too_long", "market", String(limits.symbolLengthMax));
  rejects(validateCommand({ ...SAMPLES.market, symbol: "S".repeat(limits.symbolLengthMax + 1) }), "too_long", "symbol");
});

test("messages clip long values", () => {
  const r = rejects(validateCommand(place({ cmdId: "x".repeat(10_000) })), "too_long", "10000");
  assert.ok(r.message.length < 300, r.message);
  const u = rejects(validateCommand(place({ ["k".repeat(5000)]: 1 })), "unknown_field");
  assert.ok(u.message.length < 600, u.message);
});

// ---------------------------------------------------------------- unknown_kind

test("unknown_kind, missing kind, non-string kind", () => {
  rejects(validateCommand({ ...SAMPLES.tick, kind: "teleport" }), "unknown_kind", "teleport", "place");
  rejects(validateCommand({ ...SAMPLES.tick, kind: "Tick" }), "unknown_kind");
  rejects(validateCommand({ ...SAMPLES.tick, kind: "toString" }), "unknown_kind");
  rejects(validateCommand({ ...SAMPLES.tick, kind: "__proto__" }), "unknown_kind");
  rejects(validateCommand(without(SAMPLES.tick, "kind")), "missing_field", "kind");
  rejects(validateCommand({ ...SAMPLES.tick, kind: 1 }), "invalid_type", "kind");
});

// ---------------------------------------------------------------- missing_field

for (const kind of COMMAND_KINDS) {
  test(`missing_field: each required field of ${kind}`, () => {
    for (const field of REQUIRED[kind]) {
      rejects(validateCommand(without(SAMPLES[kind], field as string)), "missing_field", field as string);
    }
  });
}

test("missing_field: amend with neither price nor qty", () => {
  rejects(validateCommand(without(without(SAMPLES.amend, "price"), "qty")), "missing_field", "amend needs price or qty");
});

// ---------------------------------------------------------------- unknown_field

test("unknown_field: extra field, another kind's field, __proto__ in JSON", () => {
  rejects(validateCommand(place({ leverage: 10 })), "unknown_field", "leverage");
  rejects(validateCommand(place({ orderId: 1 })), "unknown_field", "orderId");
  rejects(validateCommand({ ...SAMPLES.cancel, price: 1 }), "unknown_field", "price");
  rejects(validateCommand({ ...SAMPLES.tick, market: "M" }), "unknown_field", "market");
  rejects(decodeCommand(utf8.encode('{"kind":"tick","cmdId":"c","account":"a","__proto__":{"x":1}}')), "unknown_field", "__proto__");
  rejects(decodeCommand(msgpack({ ...SAMPLES.tick, extra: null })), "unknown_field", "extra");
});

// ---------------------------------------------------------------- invalid_type

test("invalid_type: names the field, the expected type and what was given", () => {
  rejects(validateCommand(place({ qty: "5" })), "invalid_type", "qty", "integer", 'string "5"');
  rejects(validateCommand(place({ market: 7 })), "invalid_type", "market", "string", "number 7");
  rejects(validateCommand(place({ postOnly: "yes" })), "invalid_type", "postOnly", "boolean");
  rejects(validateCommand(place({ side: 1 })), "invalid_type", "side", "string");
  rejects(validateCommand(place({ price: null })), "invalid_type", "price", "null");
  rejects(validateCommand(place({ price: [1] })), "invalid_type", "price", "array");
  rejects(validateCommand(place({ cmdId: { id: 1 } })), "invalid_type", "cmdId", "object");
  rejects(validateCommand(place({ price: true })), "invalid_type", "price", "boolean");
  rejects(decodeCommand(msgpack(place({ price: new Uint8Array([1]) }))), "invalid_type", "price", "bytes");
  rejects(decodeCommand(msgpack(place({ expireAt: new Date(0) }))), "invalid_type", "expireAt");
});

// --------------------------------------------------------------- invalid_value

test("invalid_value: non-safe-integer numbers", () => {
  for (const v of [NaN, Infinity, -Infinity, 1.5, 1e300, 2 ** 53, -0.5]) {
    rejects(validateCommand(place({ qty: v })), "invalid_value", "qty", "safe integer");
  }
  rejects(decodeCommand(msgpack(place({ price: NaN }))), "invalid_value", "price", "NaN");
  rejects(decodeCommand(utf8.encode(JSON.stringify(place()).replace('"qty":5', '"qty":1e300'))), "invalid_value", "qty");
});

test("invalid_value: integer ranges", () => {
  const cases: [Record<string, unknown>, string][] = [
    [place({ price: 0 }), "price"], [place({ price: limits.priceMax + 1 }), "price"],
    [place({ protectionPrice: 0 }), "protectionPrice"], [place({ qty: 0 }), "qty"],
    [place({ qty: limits.qtyMax + 1 }), "qty"], [place({ expireAt: -1 }), "expireAt"],
    [{ ...SAMPLES.cancel, orderId: 0 }, "orderId"], [{ ...SAMPLES.query, orderId: -3 }, "orderId"],
    [{ ...SAMPLES.amend, qty: -1 }, "qty"], [{ ...SAMPLES.market, tickSize: 0 }, "tickSize"],
    [{ ...SAMPLES.market, refPrice: limits.priceMax + 1 }, "refPrice"], [{ ...SAMPLES.market, lotSize: 0 }, "lotSize"],
    [{ ...SAMPLES.market, minQty: 0 }, "minQty"], [{ ...SAMPLES.market, maxQty: limits.qtyMax + 1 }, "maxQty"],
    [{ ...SAMPLES.market, bandBps: 0 }, "bandBps"], [{ ...SAMPLES.market, bandBps: limits.bandBpsMax + 1 }, "bandBps"],
  ];
  for (const [input, field] of cases) rejects(validateCommand(input), "invalid_value", field, "between");
});

test("invalid_value: enums list the allowed values", () => {
  rejects(validateCommand(place({ side: "long" })), "invalid_value", "side", "long", "buy, sell");
  rejects(validateCommand(place({ type: "stop" })), "invalid_value", "type", "limit, market");
  rejects(validateCommand(place({ tif: "DAY" })), "invalid_value", "tif", "GTC, IOC, FOK, GTD");
  rejects(validateCommand(place({ stp: "never" })), "invalid_value", "stp", "cancel_both");
  rejects(validateCommand({ ...SAMPLES.market, state: "closed" }), "invalid_value", "state", "open, halted");
});

test("invalid_value: empty strings and lone surrogates", () => {
  rejects(validateCommand(place({ cmdId: "" })), "invalid_value", "cmdId", "empty");
  rejects(validateCommand(place({ account: "" })), "invalid_value", "account");
  rejects(validateCommand(place({ market: "" })), "invalid_value", "market");
  rejects(validateCommand(place({ side: "" })), "invalid_value", "side");
  rejects(validateCommand(place({ cmdId: "a\uD800b" })), "invalid_value", "cmdId", "surrogate");
  rejects(decodeCommand(utf8.encode(JSON.stringify(place()).replace('"c1"', '"\\udc00"'))), "invalid_value", "cmdId");
});

// ---------------------------------------------------------------- addressing

test("rejections carry cmdId/account/market/orderId best-effort", () => {
  const r = rejects(validateCommand({ ...SAMPLES.cancel, qty: 1 }), "unknown_field");
  assert.equal([r.cmdId, r.account, r.market, r.orderId], ["c-cancel", "acc-1", "BTC-EUR", 42]);
  const m = rejects(validateCommand({ ...SAMPLES.market, bandBps: 0 }), "invalid_value");
  assert.equal([m.cmdId, m.market], ["c-market", "BTC-EUR"]);
  const j = rejects(decodeCommand(utf8.encode('{"kind":"nope","cmdId":"c9","account":"a9"}')), "unknown_kind");
  assert.equal([j.cmdId, j.account, j.market, j.orderId], ["c9", "a9", "", 0]);
});

test("best-effort fields of the wrong type or invalid are left empty", () => {
  const r = rejects(validateCommand({ kind: "cancel", cmdId: 5, account: "", market: ["M"], orderId: "42" }), "invalid_type");
  assert.equal([r.cmdId, r.account, r.market, r.orderId], ["", "", "", 0]);
  const t = rejects(validateCommand({ kind: "cancel", cmdId: "x".repeat(500), account: "a", market: "M", orderId: 1.5 }), "too_long");
  assert.equal([t.cmdId, t.orderId], ["", 0]);
  const n = rejects(decodeCommand(utf8.encode("{oops")), "malformed");
  assert.equal([n.cmdId, n.account, n.market, n.orderId], ["", "", "", 0]);
});

test.run();
