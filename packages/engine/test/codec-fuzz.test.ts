import fc from "fast-check";
import { Packr } from "msgpackr";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeCommand, encodeCommand, validateCommand, type DecodeResult } from "../src/codec.js";
import { limits } from "../src/limits.js";
import type { AnyCommand, CommandKind, RejectCode } from "../src/types.js";
import { REQUIRED } from "./support/required-fields.js";
import { FIELDS, RULES, type Rule } from "./support/wire-rules.js";

const OPTIONAL: Readonly<Record<CommandKind, readonly string[]>> = {
  place: ["price", "tif", "expireAt", "postOnly", "stp", "protectionPrice"],
  cancel: [], amend: ["price", "qty"], cancelAll: ["market"], market: ["state"], tick: [], query: [],
};
const ALL_FIELDS = ["kind", ...Object.keys(RULES)];

const SHAPE_CODES = new Set<RejectCode>([
  "malformed", "unknown_kind", "missing_field", "unknown_field", "invalid_type", "invalid_value", "too_long",
] satisfies RejectCode[]);

// ------------------------------------------------------------------ arbitraries

const str = (max: number) =>
  fc.oneof(
    fc.string({ minLength: 1, maxLength: max }),
    fc.string({ unit: "binary", minLength: 1, maxLength: Math.floor(max / 2) }), // astral chars: 2 code units each
  );
const int = (min: number, max: number) => fc.bigInt(BigInt(min), BigInt(max)).map(Number);
const arbFor = (rule: Rule): fc.Arbitrary<unknown> => {
  switch (rule.t) {
    case "string": return str(rule.max);
    case "int": return int(rule.min, rule.max);
    case "enum": return fc.constantFrom(...rule.values);
    case "boolean": return fc.boolean();
  }
};

/** A valid command of the kind with the given fields; optional ones may be absent. */
function command(kind: CommandKind, fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = { kind: fc.constant(kind) };
  for (const f of ["cmdId", "account", ...fields]) model[f] = arbFor(RULES[f]!);
  return fc.record(model, { requiredKeys: [...REQUIRED[kind]] });
}

const COMMANDS: Record<CommandKind, fc.Arbitrary<Record<string, unknown>>> = {
  place: command("place", FIELDS.place),
  cancel: command("cancel", FIELDS.cancel),
  amend: command("amend", FIELDS.amend).filter((c) => "price" in c || "qty" in c),
  cancelAll: command("cancelAll", FIELDS.cancelAll),
  market: command("market", FIELDS.market),
  tick: command("tick", FIELDS.tick),
  query: command("query", FIELDS.query),
};
const anyCommand = fc.oneof(...Object.values(COMMANDS));

/** What the codec should return for a valid input: defaults filled in. */
function expected(input: Record<string, unknown>): Record<string, unknown> {
  const out = { ...input };
  if (out["kind"] === "place" && out["tif"] === undefined) out["tif"] = out["type"] === "market" ? "IOC" : "GTC";
  if (out["kind"] === "market" && out["state"] === undefined) out["state"] = "open";
  return out;
}

// ------------------------------------------------------------------ helpers

const utf8 = new TextEncoder();
const raw = new Packr({ useRecords: false });

/** Never throws is implied by getting here; the result must be well formed either way. */
function wellFormed(r: DecodeResult): void {
  if (r.ok) {
    assert.ok(validateCommand(r.cmd).ok, "an accepted command validates again");
    return;
  }
  assert.ok(SHAPE_CODES.has(r.code), `unexpected code ${r.code}`);
  assert.type(r.message, "string");
  assert.ok(r.message.length > 0 && r.message.length < 1000, "message non-empty and bounded");
  assert.ok(typeof r.cmdId === "string" && typeof r.account === "string" && typeof r.market === "string");
  assert.ok(Number.isSafeInteger(r.orderId) && r.orderId >= 0);
}

function codeOf(r: DecodeResult): RejectCode | "ok" {
  return r.ok ? "ok" : r.code;
}

/** The code the codec must give for `value` in field `field` of an otherwise valid command. */
function expectedCode(field: string, value: unknown): RejectCode | "ok" {
  if (field === "kind") return typeof value === "string" ? "unknown_kind" : "invalid_type";
  const rule = RULES[field]!;
  switch (rule.t) {
    case "boolean":
      return typeof value === "boolean" ? "ok" : "invalid_type";
    case "enum":
      if (typeof value !== "string") return "invalid_type";
      return rule.values.includes(value) ? "ok" : "invalid_value";
    case "string":
      if (typeof value !== "string") return "invalid_type";
      return value.length === 0 ? "invalid_value" : value.length > rule.max ? "too_long" : "ok";
    case "int":
      if (typeof value === "bigint") return "invalid_value";
      if (typeof value !== "number") return "invalid_type";
      return Number.isSafeInteger(value) && value >= rule.min && value <= rule.max ? "ok" : "invalid_value";
  }
}

const MUTANTS: readonly unknown[] = [
  "abc", "", true, NaN, -1, 0, 1e300, 2 ** 60, 2n ** 60n, 1.5, "x".repeat(10_000), { nested: { a: 1 } }, null, [1, 2], [],
];

const EVERYTHING = {
  withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withDate: true,
  withTypedArray: true, withSparseArray: true, withUnicodeString: true,
};

// ------------------------------------------------------------------ properties

test("random bytes never throw and give a well-formed result", () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 96 }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => new Uint8Array([0x80 + (b.length % 16), ...b])), // fixmap header
    fc.string({ unit: "binary-ascii", maxLength: 80 }).map((s) => utf8.encode(`{${s}`)),
    fc.jsonValue().map((v) => utf8.encode(JSON.stringify(v) ?? "")),
    fc.jsonValue().map((v) => raw.pack(v)),
  );
  fc.assert(fc.property(bytes, (b) => wellFormed(decodeCommand(b))), { numRuns: 4000 });
});

test("arbitrary values never throw in validateCommand", () => {
  fc.assert(fc.property(fc.anything(EVERYTHING), (v) => wellFormed(validateCommand(v))), {
    numRuns: 1500,
  });
});

test("valid commands round-trip through msgpack, deterministically", () => {
  fc.assert(
    fc.property(anyCommand, (input) => {
      const bytes = encodeCommand(input as unknown as AnyCommand);
      const r = decodeCommand(bytes);
      assert.ok(r.ok, r.ok ? "" : `${r.code}: ${r.message}`);
      assert.equal(r.cmd, expected(input));
      const reversed = Object.fromEntries(Object.entries(input).reverse());
      const again = decodeCommand(raw.pack(reversed));
      assert.equal(Buffer.from(encodeCommand((again as { cmd: AnyCommand }).cmd)), Buffer.from(encodeCommand(r.cmd)));
    }),
    { numRuns: 2000 },
  );
});

test("valid commands round-trip through JSON", () => {
  fc.assert(
    fc.property(anyCommand, (input) => {
      const r = decodeCommand(utf8.encode(JSON.stringify(input)));
      assert.ok(r.ok, r.ok ? "" : `${r.code}: ${r.message}`);
      assert.equal(r.cmd, expected(input));
    }),
    { numRuns: 2000 },
  );
});

test("a field replaced by a bad value is rejected with the right code", () => {
  const mutation = anyCommand.chain((cmd) =>
    fc.tuple(fc.constant(cmd), fc.constantFrom(...Object.keys(cmd)), fc.constantFrom(...MUTANTS)),
  );
  fc.assert(
    fc.property(mutation, ([cmd, field, value]) => {
      const mutated = { ...cmd, [field]: value };
      const want = expectedCode(field, value);
      const r = validateCommand(mutated);
      wellFormed(r);
      assert.is(codeOf(r), want, `${field} = ${String(value).slice(0, 20)}: ${r.ok ? "ok" : r.message}`);
      if (!r.ok) assert.ok(r.message.includes(field), r.message);
      const bytes = raw.pack(mutated);
      const wire = decodeCommand(bytes);
      assert.is(codeOf(wire), bytes.length > limits.commandBytesMax ? "too_long" : want);
    }),
    { numRuns: 2000 },
  );
});

test("a deleted required field gives missing_field; a deleted optional one is fine", () => {
  const deletion = anyCommand.chain((cmd) => fc.tuple(fc.constant(cmd), fc.constantFrom(...Object.keys(cmd))));
  fc.assert(
    fc.property(deletion, ([cmd, field]) => {
      const rest: Record<string, unknown> = { ...cmd };
      delete rest[field];
      const kind = cmd["kind"] as CommandKind;
      const amendEmpty = kind === "amend" && !("price" in rest) && !("qty" in rest);
      const want = (REQUIRED[kind] as readonly string[]).includes(field) || amendEmpty ? "missing_field" : "ok";
      const r = validateCommand(rest);
      assert.is(codeOf(r), want, `${kind} without ${field}`);
      if (!r.ok) assert.ok(r.message.includes(field === "kind" ? "kind" : amendEmpty ? "price or qty" : field), r.message);
      assert.is(codeOf(decodeCommand(raw.pack(rest))), want);
    }),
    { numRuns: 1500 },
  );
});

test("an added unknown field gives unknown_field naming it", () => {
  const key = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(...ALL_FIELDS, "__proto__", "constructor"));
  const addition = fc.tuple(anyCommand, key, fc.jsonValue()).filter(([cmd, k]) => !Object.hasOwn(cmd, k));
  fc.assert(
    fc.property(addition, ([cmd, k, value]) => {
      const mutated = Object.defineProperty({ ...cmd }, k, { value, enumerable: true, writable: true, configurable: true });
      // an absent optional field of this kind is not unknown: it is validated like any other
      const want = OPTIONAL[cmd["kind"] as CommandKind].includes(k) ? expectedCode(k, value) : "unknown_field";
      const r = validateCommand(mutated);
      assert.is(codeOf(r), want);
      if (want === "unknown_field") assert.ok((r as { message: string }).message.includes(JSON.stringify(k).slice(1, -1)));
      const bytes = raw.pack(mutated);
      const wire = decodeCommand(bytes);
      wellFormed(wire);
      if (want === "unknown_field") assert.is(codeOf(wire), bytes.length > limits.commandBytesMax ? "too_long" : want);
    }),
    { numRuns: 1500 },
  );
});

test("single-byte corruption and truncation of msgpack never throw", () => {
  const corruption = fc.tuple(anyCommand, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean());
  fc.assert(
    fc.property(corruption, ([cmd, at, byte, truncate]) => {
      const bytes = Uint8Array.from(encodeCommand(cmd as unknown as AnyCommand));
      const i = at % bytes.length;
      if (truncate) return wellFormed(decodeCommand(bytes.subarray(0, i)));
      bytes[i] = byte;
      wellFormed(decodeCommand(bytes));
    }),
    { numRuns: 3000 },
  );
});

test.run();
