/**
 * Wire codec: untrusted bytes in, validated commands out; events out as msgpack.
 *
 * Commands arrive as msgpack, or as JSON when the first non-whitespace byte is
 * '{'. Decoding never throws: every problem becomes a rejection with a shape
 * code (see RejectCode) and a message naming the field and the offending value.
 * Market-specific rules (tick, lot, band, GTD expiry) are the engine's job.
 *
 * Interop: plain msgpack maps (no msgpackr records). Integers beyond 32 bits are
 * written as msgpack int64, never as floats; on reading, int64/uint64 values
 * that fit in a safe integer become numbers and larger ones become BigInts,
 * which the validator rejects, so nothing is silently rounded.
 *
 * A key whose value is `undefined` counts as absent (msgpackr can encode
 * undefined; JSON cannot).
 */
import { flatString } from "./flat-string.js";
import { Packr, type Options } from "msgpackr";
import { COMMAND_KINDS, COMMAND_SCHEMAS, isCommandKind } from "./command-schema.js";
import { readCommand } from "./command-reader.js";
import type { CommandSchema, FieldRule, FieldSpec } from "./command-schema.js";
import { limits } from "./limits.js";
import type { AnyCommand, CommandKind, EngineEvent, RejectCode } from "./types.js";

export type DecodeResult =
  | { ok: true; cmd: AnyCommand }
  | { ok: false; code: RejectCode; message: string; cmdId: string; account: string; market: string; orderId: number };

type Rejected = Extract<DecodeResult, { ok: false }>;
type Fields = Readonly<Record<string, unknown>>;

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  // "auto" (int64 within +-2^53 as number, BigInt beyond) is supported by msgpackr 2 but missing from its typings.
  int64AsType: "auto" as string as Options["int64AsType"],
});

const utf8 = new TextDecoder("utf-8", { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const PREVIEW_CHARS = 40;
const ID_RULE: FieldRule = { type: "string", max: limits.idLengthMax };
const SYMBOL_RULE: FieldRule = { type: "string", max: limits.symbolLengthMax };
const ORDER_ID_RULE: FieldRule = { type: "int", min: 1, max: Number.MAX_SAFE_INTEGER };

// ---------------------------------------------------------------- decoding

export function decodeCommand(bytes: Uint8Array): DecodeResult {
  // Valid commands in plain msgpack (every command of a replay, as the node's clients write
  // them) are read by the schema-specific reader; it leaves the rest, and every rejection,
  // to the generic path, which words them.
  const cmd = bytes instanceof Uint8Array ? readCommand(bytes) : undefined;
  return cmd !== undefined ? { ok: true, cmd } : decodeCommandGeneric(bytes);
}

/**
 * The generic path: msgpackr (or JSON.parse) into a plain object, then validateCommand.
 * Exported for the tests, which hold the fast path to it.
 */
export function decodeCommandGeneric(bytes: Uint8Array): DecodeResult {
  if (!(bytes instanceof Uint8Array)) return rejection("malformed", `input must be bytes, got ${show(bytes)}`, undefined);
  if (bytes.length > limits.commandBytesMax) {
    return rejection("too_long", `command is ${bytes.length} bytes, max ${limits.commandBytesMax}`, undefined);
  }
  const parsed = parse(bytes);
  if ("error" in parsed) return rejection("malformed", parsed.error, undefined);
  return validateCommand(parsed.value);
}

function parse(bytes: Uint8Array): { value: unknown } | { error: string } {
  const start = bytes.findIndex((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  if (start < 0) return { error: bytes.length === 0 ? "empty input" : "input is only whitespace" };
  const json = bytes[start] === 0x7b; // '{'
  try {
    return { value: json ? JSON.parse(utf8.decode(bytes)) : packr.unpack(bytes) };
  } catch (e) {
    return { error: `invalid ${json ? "JSON" : "msgpack"}: ${errorText(e)}` };
  }
}

// -------------------------------------------------------------- validation

/** A shape violation, thrown inside the validator and turned into a rejection at its edge. */
class ShapeError {
  constructor(
    readonly code: RejectCode,
    readonly message: string,
  ) {}
}

function fail(code: RejectCode, message: string): never {
  throw new ShapeError(code, message);
}

export function validateCommand(value: unknown): DecodeResult {
  try {
    return { ok: true, cmd: buildCommand(value) };
  } catch (e) {
    if (e instanceof ShapeError) return rejection(e.code, e.message, value);
    // Only reachable from exotic in-process values (throwing getters, proxies).
    return rejection("malformed", `unreadable command: ${errorText(e)}`, value);
  }
}

function buildCommand(value: unknown): AnyCommand {
  if (!isPlainObject(value)) fail("malformed", `command must be a map/object, got ${show(value)}`);
  const schema = COMMAND_SCHEMAS[readKind(value)];
  checkUnknownFields(value, schema);
  const cmd: Record<string, unknown> = { kind: schema.kind };
  for (const field of schema.fields) {
    const v = own(value, field.name);
    if (v !== undefined) cmd[field.name] = checkField(field.name, field.rule, v);
    else applyAbsent(schema, field, cmd);
  }
  if (schema.oneOf && schema.oneOf.every((name) => cmd[name] === undefined)) {
    fail("missing_field", `${schema.kind} needs ${schema.oneOf.join(" or ")}`);
  }
  // Resting orders and the idempotency index keep the cmdId: not the whole payload with it.
  if (typeof cmd["cmdId"] === "string") cmd["cmdId"] = flatString(cmd["cmdId"]);
  return cmd as unknown as AnyCommand;
}

function readKind(value: Fields): CommandKind {
  const kind = own(value, "kind");
  if (kind === undefined) fail("missing_field", `missing required field "kind" (one of ${COMMAND_KINDS.join(", ")})`);
  if (typeof kind !== "string") fail("invalid_type", `field "kind" must be a string, got ${show(kind)}`);
  if (!isCommandKind(kind)) fail("unknown_kind", `unknown kind ${show(kind)}; expected one of ${COMMAND_KINDS.join(", ")}`);
  return kind;
}

function checkUnknownFields(value: Fields, schema: CommandSchema): void {
  for (const key of Object.keys(value)) {
    if (schema.names.has(key) || value[key] === undefined) continue;
    const allowed = [...schema.names].join(", ");
    fail("unknown_field", `unknown field ${quote(key)} for kind "${schema.kind}" (allowed: ${allowed})`);
  }
}

function applyAbsent(schema: CommandSchema, field: FieldSpec, cmd: Record<string, unknown>): void {
  if (field.required) fail("missing_field", `missing required field "${field.name}" for kind "${schema.kind}"`);
  if (field.fallback) cmd[field.name] = field.fallback(cmd);
}

function checkField(name: string, rule: FieldRule, v: unknown): unknown {
  switch (rule.type) {
    case "string":
      return checkString(name, rule.max, v);
    case "int":
      return checkInt(name, rule.min, rule.max, v);
    case "boolean":
      if (typeof v !== "boolean") fail("invalid_type", `field "${name}" must be a boolean, got ${show(v)}`);
      return v;
    case "enum":
      if (typeof v !== "string") fail("invalid_type", `field "${name}" must be a string, got ${show(v)}`);
      if (!rule.values.includes(v)) fail("invalid_value", `field "${name}" must be one of ${rule.values.join(", ")}; got ${show(v)}`);
      return v;
  }
}

function checkString(name: string, max: number, v: unknown): string {
  if (typeof v !== "string") fail("invalid_type", `field "${name}" must be a string, got ${show(v)}`);
  if (v.length === 0) fail("invalid_value", `field "${name}" must not be empty`);
  if (v.length > max) fail("too_long", `field "${name}" must be at most ${max} characters, got ${v.length}: ${show(v)}`);
  if (LONE_SURROGATE.test(v)) fail("invalid_value", `field "${name}" is not valid Unicode (lone surrogate): ${show(v)}`);
  return v;
}

function checkInt(name: string, min: number, max: number, v: unknown): number {
  if (typeof v === "bigint") fail("invalid_value", `field "${name}" must be a safe integer, got ${show(v)}`);
  if (typeof v !== "number") fail("invalid_type", `field "${name}" must be an integer, got ${show(v)}`);
  if (!Number.isSafeInteger(v)) fail("invalid_value", `field "${name}" must be a safe integer, got ${show(v)}`);
  if (v < min || v > max) fail("invalid_value", `field "${name}" must be between ${min} and ${max}, got ${v}`);
  return v;
}

// ------------------------------------------------------------- rejections

function rejection(code: RejectCode, message: string, input: unknown): Rejected {
  return { ok: false, code, message, ...addressOf(input) };
}

/** Best effort: who to tell, taken from the fields that are individually valid. */
function addressOf(input: unknown): Pick<Rejected, "cmdId" | "account" | "market" | "orderId"> {
  const none = { cmdId: "", account: "", market: "", orderId: 0 };
  try {
    if (!isPlainObject(input)) return none;
    const market = own(input, "market") ?? (input["kind"] === "market" ? own(input, "symbol") : undefined);
    return {
      cmdId: validOr(own(input, "cmdId"), ID_RULE, ""),
      account: validOr(own(input, "account"), ID_RULE, ""),
      market: validOr(market, SYMBOL_RULE, ""),
      orderId: validOr(own(input, "orderId"), ORDER_ID_RULE, 0),
    };
  } catch {
    return none;
  }
}

function validOr<T>(v: unknown, rule: FieldRule, otherwise: T): T {
  try {
    return v === undefined ? otherwise : (checkField("", rule, v) as T);
  } catch {
    return otherwise;
  }
}

// ---------------------------------------------------------------- encoding

export function encodeCommand(cmd: AnyCommand): Uint8Array {
  return packr.pack(toWire(cmd));
}

export function encodeEvents(events: readonly EngineEvent[]): Uint8Array {
  return packr.pack(events.map(toWire));
}

/**
 * Each event's msgpack, packed once, so that one batch can go out as the durable output,
 * the execution reports and the market data without converting and packing every event
 * two or three times: `joinPackedEvents(packEvents(es))` is byte for byte
 * `encodeEvents(es)`, and `encodeWithPackedEvents(head, packEvents(es))` is
 * `encodeValue({ ...head, events: es })`. (msgpackr never writes over bytes it has
 * returned, so the parts stay valid.)
 */
export function packEvents(events: readonly EngineEvent[]): Uint8Array[] {
  return events.map((e) => packr.pack(toWire(e)));
}

/** The msgpack array of packed events (see packEvents). */
export function joinPackedEvents(parts: readonly Uint8Array[]): Uint8Array {
  return withArray(new Uint8Array(0), parts);
}

/** The msgpack map of `head`'s fields followed by `events`, the packed events (see packEvents). */
export function encodeWithPackedEvents(head: Record<string, unknown>, parts: readonly Uint8Array[]): Uint8Array {
  // msgpackr writes an object as a map16 (0xde, count) followed by its entries: pack the head, count
  // one entry more, and append the key "events" and the array.
  const h = packr.pack(toWire(head));
  if (h[0] !== 0xde) throw new Error(`unexpected map header 0x${h[0]!.toString(16)} packing a report head`);
  const prefix = new Uint8Array(h.length + EVENTS_KEY.length);
  prefix.set(h);
  const n = ((h[1]! << 8) | h[2]!) + 1;
  prefix[1] = n >>> 8;
  prefix[2] = n & 0xff;
  prefix.set(EVENTS_KEY, h.length);
  return withArray(prefix, parts);
}

/** msgpack of the string "events". */
const EVENTS_KEY = Uint8Array.from([0xa6, ...new TextEncoder().encode("events")]);

/** `prefix`, then a msgpack array header for `parts`, then the parts: one exact-size buffer. */
function withArray(prefix: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const n = parts.length;
  const header = n < 0x10 ? 1 : n < 0x10000 ? 3 : 5;
  let size = prefix.length + header;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  out.set(prefix);
  let at = prefix.length;
  if (n < 0x10) out[at++] = 0x90 | n;
  else if (n < 0x10000) {
    out[at++] = 0xdc;
    out[at++] = n >>> 8;
    out[at++] = n & 0xff;
  } else {
    out[at++] = 0xdd;
    out[at++] = n >>> 24;
    out[at++] = (n >>> 16) & 0xff;
    out[at++] = (n >>> 8) & 0xff;
    out[at++] = n & 0xff;
  }
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Any message of the protocol (reports, query replies) in the same msgpack dialect. */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(toWire(value));
}

/** Decodes msgpack written by any of the encoders; throws on invalid bytes. */
export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Decodes what encodeEvents wrote; throws on bytes that are not an array of events. */
export function decodeEvents(bytes: Uint8Array): EngineEvent[] {
  const value: unknown = packr.unpack(bytes);
  if (!Array.isArray(value)) throw new Error(`events must be a msgpack array, got ${show(value)}`);
  for (const e of value) {
    if (!isPlainObject(e) || typeof e["type"] !== "string") throw new Error(`not an event: ${show(e)}`);
  }
  return value as EngineEvent[];
}

/**
 * Prepares a value for msgpack: integers beyond 32 bits become BigInt so they are
 * written as int64 (msgpackr would write a float64), and undefined properties are
 * dropped (as JSON.stringify does) instead of becoming msgpackr's private ext 0.
 */
function toWire(v: unknown): unknown {
  if (typeof v === "number") return Number.isSafeInteger(v) && (v > 0xffff_ffff || v < -0x8000_0000) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toWire);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    if (v[key] !== undefined) out[key] = toWire(v[key]);
  }
  return out;
}

// ------------------------------------------------------------------ helpers

function isPlainObject(v: unknown): v is Fields {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function own(o: Fields, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** A short description of any value for messages: its type and, for primitives, a clipped preview. */
function show(v: unknown): string {
  switch (typeof v) {
    case "string":
      return `string ${quote(v)}`;
    case "number":
    case "boolean":
      return `${typeof v} ${String(v)}`;
    case "bigint":
      return `bigint ${clip(`${v}n`)}`;
    case "object":
      if (v === null) return "null";
      if (Array.isArray(v)) return `array (${v.length} items)`;
      if (v instanceof Uint8Array) return `bytes (${v.length})`;
      return isPlainObject(v) ? "object" : `object ${v.constructor?.name ?? "?"}`;
    default:
      return typeof v;
  }
}

function quote(s: string): string {
  return JSON.stringify(clip(s));
}

function clip(s: string): string {
  return s.length <= PREVIEW_CHARS ? s : `${s.slice(0, PREVIEW_CHARS)}… (${s.length} chars)`;
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === "string" ? e : "unknown error";
  return text.length <= 200 ? text : `${text.slice(0, 200)}…`;
}
