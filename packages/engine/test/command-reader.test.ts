/**
 * The schema-specific command reader (command-reader.ts) against the generic path it
 * shortcuts (msgpackr unpack + validateCommand, codec.ts's decodeCommandGeneric): on any
 * input, when the reader answers, the generic path accepts the same bytes and builds the
 * same command (same keys in the same order, same values); and decodeCommand, which tries
 * the reader first, returns exactly what the generic path returns, rejections included.
 *
 * The inputs are written by a msgpack writer of this file's own that picks, value by
 * value, among the encodings msgpack allows (fixstr/str8/str16/str32, every integer
 * width, signed or not, floats, map16/map32...), so that the reader meets more than
 * msgpackr's canonical output; then commands are damaged field by field and byte by byte.
 */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeCommand, decodeCommandGeneric, encodeCommand, type DecodeResult } from "../src/codec.js";
import { readCommand } from "../src/command-reader.js";
import { limits } from "../src/limits.js";
import type { AnyCommand, CommandKind } from "../src/types.js";
import { REQUIRED } from "./support/required-fields.js";
import { FIELDS, RULES as WIRE_RULES, type Rule } from "./support/wire-rules.js";

// ------------------------------------------------------------ the wire format (independent of command-schema.ts)

/** The field rules of the oracle (support/wire-rules.ts), `kind` included: the damaging below picks any field. */
const RULES: Readonly<Record<string, Rule>> = {
  kind: { t: "enum", values: ["place", "cancel", "amend", "cancelAll", "market", "tick", "query"] },
  ...WIRE_RULES,
};
const KINDS = Object.keys(FIELDS) as CommandKind[];

// ------------------------------------------------------------ a msgpack writer with a choice of encodings

/** A value the writer is asked to write in an unusual way. */
class AsFloat {
  constructor(readonly v: number, readonly bits: 32 | 64) {}
}
class Undefined {}

/** Picks the next encoding choice (cycling through the drawn numbers). */
type Choose = (n: number) => number;

function chooser(choices: readonly number[]): Choose {
  let i = 0;
  return (n) => (choices.length === 0 ? 0 : choices[i++ % choices.length]! % n);
}

const utf8 = new TextEncoder();
const canonical = new Packr({ useRecords: false });

function writeValue(out: number[], v: unknown, choose: Choose): void {
  if (typeof v === "string") return writeString(out, v, choose);
  if (typeof v === "number" && Number.isSafeInteger(v)) return writeInt(out, v, choose);
  if (typeof v === "boolean") return void out.push(v ? 0xc3 : 0xc2);
  if (v === null) return void out.push(0xc0);
  if (v instanceof Undefined) return void out.push(0xd4, 0x00, 0x00); // msgpackr's undefined
  if (v instanceof AsFloat) return writeFloat(out, v.v, v.bits);
  if (typeof v === "bigint") return writeBig(out, v);
  if (v instanceof Map) return writeMap(out, [...v.entries()], choose);
  out.push(...canonical.pack(v)); // arrays, objects, non-integral numbers
}

function writeString(out: number[], s: string, choose: Choose): void {
  const b = utf8.encode(s);
  const n = b.length;
  const forms = [n < 32 ? 0 : -1, n < 256 ? 1 : -1, n < 65536 ? 2 : -1, 3].filter((f) => f >= 0);
  const form = forms[choose(forms.length)]!;
  if (form === 0) out.push(0xa0 | n);
  else if (form === 1) out.push(0xd9, n);
  else if (form === 2) out.push(0xda, n >> 8, n & 0xff);
  else out.push(0xdb, ...be32(n));
  out.push(...b);
}

function writeInt(out: number[], v: number, choose: Choose): void {
  const forms: (() => void)[] = [];
  if (v >= 0 && v < 128) forms.push(() => out.push(v));
  if (v >= -32 && v < 0) forms.push(() => out.push(v & 0xff));
  if (v >= 0 && v < 256) forms.push(() => out.push(0xcc, v));
  if (v >= 0 && v < 65536) forms.push(() => out.push(0xcd, v >> 8, v & 0xff));
  if (v >= 0 && v < 2 ** 32) forms.push(() => out.push(0xce, ...be32(v)));
  if (v >= 0) forms.push(() => out.push(0xcf, ...be64(BigInt(v))));
  if (v >= -128 && v < 128) forms.push(() => out.push(0xd0, v & 0xff));
  if (v >= -32768 && v < 32768) forms.push(() => out.push(0xd1, (v >> 8) & 0xff, v & 0xff));
  if (v >= -(2 ** 31) && v < 2 ** 31) forms.push(() => out.push(0xd2, ...be32(v >>> 0)));
  forms.push(() => out.push(0xd3, ...be64(BigInt.asUintN(64, BigInt(v)))));
  forms.push(() => writeFloat(out, v, 64));
  forms[choose(forms.length)]!();
}

function writeFloat(out: number[], v: number, bits: 32 | 64): void {
  const b = new DataView(new ArrayBuffer(bits / 8));
  if (bits === 32) b.setFloat32(0, v);
  else b.setFloat64(0, v);
  out.push(bits === 32 ? 0xca : 0xcb, ...new Uint8Array(b.buffer));
}

function writeBig(out: number[], v: bigint): void {
  out.push(v < 0n ? 0xd3 : 0xcf, ...be64(BigInt.asUintN(64, v)));
}

function writeMap(out: number[], entries: readonly (readonly [unknown, unknown])[], choose: Choose): void {
  const n = entries.length;
  const forms = [n < 16 ? 0 : -1, 1, 2].filter((f) => f >= 0);
  const form = forms[choose(forms.length)]!;
  if (form === 0) out.push(0x80 | n);
  else if (form === 1) out.push(0xde, n >> 8, n & 0xff);
  else out.push(0xdf, ...be32(n));
  for (const [k, v] of entries) {
    writeValue(out, k, choose);
    writeValue(out, v, choose);
  }
}

function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function be64(v: bigint): number[] {
  return [...be32(Number(v >> 32n)), ...be32(Number(v & 0xffffffffn))];
}

function encode(entries: readonly (readonly [unknown, unknown])[], choices: readonly number[]): Uint8Array {
  const out: number[] = [];
  writeMap(out, entries, chooser(choices));
  return Uint8Array.from(out);
}

// ------------------------------------------------------------ arbitraries

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const ascii = (max: number) => fc.string({ unit: printable, minLength: 1, maxLength: max });
const str = (max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: ascii(max) },
    { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: max }) }, // control characters
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: max }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: Math.floor(max / 2) }) }, // astral
    { weight: 1, arbitrary: fc.constantFrom(`c-${"x".repeat(32)}`, "SKU-A", "alice", "日本語", "zoë") },
  );
const int = (min: number, max: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.bigInt(BigInt(min), BigInt(max)).map(Number) },
    { weight: 2, arbitrary: fc.integer({ min, max: Math.min(max, 300_000) }) },
    { weight: 1, arbitrary: fc.constantFrom(min, max, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32).filter((v) => v >= min && v <= max) },
  );

function valid(rule: Rule): fc.Arbitrary<unknown> {
  switch (rule.t) {
    case "string": return str(rule.max);
    case "int": return int(rule.min, rule.max);
    case "enum": return fc.constantFrom(...rule.values);
    case "boolean": return fc.boolean();
  }
}

/** Values that are wrong somewhere, or right in an unusual encoding. */
function odd(rule: Rule): fc.Arbitrary<unknown> {
  const common = fc.constantFrom<unknown>(null, new Undefined(), true, "", "x", 0, -1, -33, 1.5, [1], {}, new Map([["a", 1]]), 2n ** 63n, -(2n ** 63n));
  switch (rule.t) {
    case "string":
      return fc.oneof(common, fc.constantFrom("x".repeat(rule.max), "x".repeat(rule.max + 1), "\ud800", "a\udc00b", "é".repeat(rule.max)));
    case "int":
      return fc.oneof(
        common,
        fc.constantFrom(rule.min - 1, rule.max + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 64, -(2 ** 53)),
        fc.integer({ min: -(2 ** 31), max: -1 }), // negative: in a signed encoding, read as unsigned it would look valid
        fc.constantFrom(new AsFloat(rule.min, 64), new AsFloat(rule.max, 64), new AsFloat(rule.min, 32), new AsFloat(rule.max + 0.5, 64), new AsFloat(-0, 64)),
        fc.constantFrom(2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n, BigInt(rule.max), BigInt(rule.min)),
      );
    case "enum":
      return fc.oneof(common, fc.constantFrom(...rule.values.map((v) => v.toUpperCase()), ...rule.values.map((v) => `${v} `), ...rule.values.map((v) => v.slice(0, -1))));
    case "boolean":
      return fc.oneof(common, fc.constantFrom(1, "true"));
  }
}

type Entry = readonly [unknown, unknown];

/** A valid command of `kind` as map entries; optional fields may be absent. */
function command(kind: CommandKind): fc.Arbitrary<Entry[]> {
  const model: Record<string, fc.Arbitrary<unknown>> = { kind: fc.constant(kind) };
  for (const f of ["cmdId", "account", ...FIELDS[kind]]) model[f] = valid(RULES[f]!);
  const record = fc.record(model, { requiredKeys: [...REQUIRED[kind]] });
  return (kind === "amend" ? record.filter((c) => "price" in c || "qty" in c) : record).map((c) => Object.entries(c));
}

const anyCommand = fc.oneof(...KINDS.map(command));

/** One change to a command's entries. */
const mutation: fc.Arbitrary<(e: Entry[]) => Entry[]> = fc.oneof(
  // a field's value replaced by a wrong or oddly encoded one
  fc.tuple(fc.nat(), fc.constantFrom(...Object.keys(RULES))).chain(([i, f]) =>
    odd(RULES[f]!).map((v) => (e: Entry[]) => (e.length === 0 ? e : e.map((x, j) => (j === i % e.length ? [x[0], v] as const : x))))),
  // a field added (known to some other kind, or not at all), possibly a duplicate of one present
  fc.tuple(fc.oneof(fc.constantFrom(...Object.keys(RULES), "__proto__", "constructor", "Kind", ""), fc.string({ maxLength: 16 })), fc.oneof(fc.constantFrom(...Object.values(RULES)).chain(valid), fc.jsonValue()))
    .map(([k, v]) => (e: Entry[]) => [...e, [k, v] as const]),
  // a field present twice, same value
  fc.nat().map((i) => (e: Entry[]) => (e.length === 0 ? e : [...e, e[i % e.length]!])),
  // a field deleted
  fc.nat().map((i) => (e: Entry[]) => e.filter((_, j) => j !== i % e.length)),
  // a key that is not a string
  fc.tuple(fc.nat(), fc.constantFrom<unknown>(1, null, true, new AsFloat(2, 64))).map(([i, k]) => (e: Entry[]) => (e.length === 0 ? e : e.map((x, j) => (j === i % e.length ? [k, x[1]] as const : x)))),
  // an undefined value (counts as absent), on a known or unknown key
  fc.constantFrom("price", "tif", "cmdId", "market", "bogus").map((k) => (e: Entry[]) => [...e.filter((x) => x[0] !== k), [k, new Undefined()] as const]),
);

/** Byte-level damage after encoding. */
const damage: fc.Arbitrary<(b: Uint8Array) => Uint8Array> = fc.oneof(
  fc.nat().map((i) => (b: Uint8Array) => b.subarray(0, i % (b.length + 1))),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]) => (b: Uint8Array) => {
    const c = Uint8Array.from(b);
    if (c.length > 0) c[i % c.length] = v;
    return c;
  }),
  fc.uint8Array({ minLength: 1, maxLength: 4 }).map((tail) => (b: Uint8Array) => Uint8Array.from([...b, ...tail])),
  fc.constant((b: Uint8Array) => Uint8Array.from([0x20, ...b])), // leading whitespace
);

const shuffled = (entries: Entry[]) => fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length });
const choices = fc.array(fc.nat(), { maxLength: 40 });

// ------------------------------------------------------------ the property

/** Same result, field by field, in the same order (uvu's equal ignores key order). */
function sameResult(actual: DecodeResult, wanted: DecodeResult): void {
  assert.equal(Object.keys(actual), Object.keys(wanted));
  if (actual.ok && wanted.ok) return sameCommand(actual.cmd, wanted.cmd);
  assert.equal(actual, wanted);
}

function sameCommand(actual: AnyCommand, wanted: AnyCommand): void {
  const a = Object.entries(actual);
  const w = Object.entries(wanted);
  assert.equal(a.map(([k]) => k), w.map(([k]) => k), "same keys in the same order");
  for (const [i, [k, v]] of a.entries()) assert.ok(Object.is(v, w[i]![1]), `${k}: ${String(v)} vs ${String(w[i]![1])}`);
}

const hits = { fast: 0, total: 0 };

/** The reader answers only where the generic path accepts, with the same command; decodeCommand is the generic path. */
function agrees(bytes: Uint8Array): void {
  const generic = decodeCommandGeneric(bytes);
  const fast = readCommand(bytes);
  hits.total++;
  if (fast !== undefined) {
    hits.fast++;
    assert.ok(generic.ok, `the reader accepted what the generic path rejects: ${generic.ok ? "" : generic.message}`);
    sameCommand(fast, generic.cmd);
  }
  sameResult(decodeCommand(bytes), generic);
}

function coverage(label: string, atLeast: number): void {
  const share = hits.fast / hits.total;
  if (process.env["READER_COVERAGE"]) console.log(label, hits.fast, hits.total);
  assert.ok(share >= atLeast, `${label}: the reader answered ${hits.fast} of ${hits.total}`);
  hits.fast = hits.total = 0;
}

test("valid commands, any field order and any msgpack encoding: the same commands as the generic path", () => {
  const input = anyCommand.chain(shuffled).chain((e) => fc.tuple(fc.constant(e), choices));
  fc.assert(fc.property(input, ([entries, cs]) => agrees(encode(entries, cs))), { numRuns: 4000 });
  coverage("valid commands", 0.15);
});

test("msgpackr's own encoding of valid ASCII commands takes the fast path", () => {
  const asciiCommand = anyCommand.filter((e) => e.every(([, v]) => typeof v !== "string" || /^[\x00-\x7f]*$/.test(v)));
  fc.assert(
    fc.property(asciiCommand, (entries) => {
      const bytes = encodeCommand(Object.fromEntries(entries) as unknown as AnyCommand);
      assert.ok(readCommand(bytes) !== undefined, "the reader answers");
      agrees(bytes);
    }),
    { numRuns: 2000 },
  );
  hits.fast = hits.total = 0;
});

test("commands with a field changed, added, repeated or deleted: the same results as the generic path", () => {
  const input = fc.tuple(anyCommand, fc.array(mutation, { minLength: 1, maxLength: 3 }), choices).chain(([e, ms, cs]) =>
    shuffled(ms.reduce((acc, m) => m(acc), e)).map((mutated) => encode(mutated, cs)),
  );
  fc.assert(fc.property(input, agrees), { numRuns: 6000 });
  coverage("mutated commands", 0.002);
});

test("damaged bytes (truncated, overwritten, extended) and random bytes: the same results as the generic path", () => {
  const damaged = fc.tuple(anyCommand, choices, damage).map(([e, cs, d]) => d(encode(e, cs)));
  const random = fc.oneof(
    fc.uint8Array({ maxLength: 96 }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Uint8Array.from([0x80 + (b.length % 16), ...b])),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Uint8Array.from([0xde, 0x00, b.length % 16, ...b])),
    fc.jsonValue().map((v) => utf8.encode(JSON.stringify(v) ?? "")),
    fc.jsonValue().map((v) => canonical.pack(v)),
  );
  fc.assert(fc.property(fc.oneof(damaged, random), agrees), { numRuns: 8000 });
});

test("JSON commands and oversized ones go the generic way", () => {
  const place = { kind: "place", cmdId: "c1", account: "alice", market: "SKU-A", side: "buy", type: "limit", price: 100, qty: 1 };
  const json = utf8.encode(JSON.stringify(place));
  assert.is(readCommand(json), undefined);
  assert.ok(decodeCommand(json).ok);
  const big = encodeCommand({ ...place, cmdId: "x".repeat(limits.commandBytesMax) } as unknown as AnyCommand);
  agrees(big);
  assert.is((decodeCommand(big) as { code: string }).code, "too_long");
});

test("without Node's Buffer the reader gives the same commands", () => {
  const reader = new URL("../src/command-reader.js", import.meta.url).href;
  const codec = new URL("../src/codec.js", import.meta.url).href;
  const script = `
    delete globalThis.Buffer;
    const { readCommand } = await import(${JSON.stringify(reader)});
    const { encodeCommand, decodeCommandGeneric } = await import(${JSON.stringify(codec)});
    const cmds = [
      { kind: "place", cmdId: "c-" + "x".repeat(40), account: "alice", market: "SKU-A", side: "buy", type: "limit", price: 100, qty: 3 },
      { kind: "cancel", cmdId: "c2", account: "bob", market: "SKU-A", orderId: 2 ** 40 },
      { kind: "market", cmdId: "m1", account: "admin", symbol: "SKU-B", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 100, refPrice: 100, bandBps: 5000 },
    ];
    const same = cmds.every((c) => {
      const b = encodeCommand(c);
      return JSON.stringify(readCommand(b)) === JSON.stringify(decodeCommandGeneric(b).cmd);
    });
    console.log(JSON.stringify({ same, buffer: typeof globalThis.Buffer }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim()), { same: true, buffer: "undefined" });
});

test.run();
