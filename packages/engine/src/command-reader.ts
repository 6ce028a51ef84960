/**
 * The fast path of decodeCommand: reads a command straight from its msgpack bytes, by
 * the schema (command-schema.ts), into the same object the generic path would build
 * (msgpackr unpack into a plain object, then validateCommand), in one pass: no
 * intermediate object, no sliced strings to flatten (flatString), no interpretation of
 * the schema field by field. Replay decodes every command of the log, and the generic
 * path cost ~2 µs of the node's ~9 µs per replayed command (docs/benchmarks.md).
 *
 * It answers only for inputs it can see are valid: a msgpack map (fixmap or map16) of
 * string keys that are fields of the command's kind, each once, with values of the
 * field's type and in its range, ASCII strings, nothing after the map. Anything else —
 * JSON, floats, nil, ext values (msgpackr's undefined), non-ASCII strings, unknown or
 * repeated keys, any shape error — returns undefined and is decoded the generic way,
 * which also words the rejection. So the two paths cannot disagree on what is rejected
 * or why; where the reader answers, command-reader.test.ts holds it to the generic
 * path's command, on random valid commands in every msgpack encoding and on damaged ones.
 */
import { AsciiInterner, asciiString, slicersOf, type StringSlicers } from "./ascii-strings.js";
import { COMMAND_KINDS, COMMAND_SCHEMAS, type CommandSchema, type FieldRule, type FieldSpec } from "./command-schema.js";
import { limits } from "./limits.js";
import type { AnyCommand, CommandKind } from "./types.js";

/** A key the reader knows: "kind", or a field of some kinds (with the same rule in each). */
interface WireField {
  /** Its place in FIELDS, and its bit in the set of fields seen (index and bit 0: kind). */
  readonly index: number;
  readonly bit: number;
  readonly name: string;
  /** The key's bytes (field names are ASCII). */
  readonly key: Uint8Array;
  readonly rule: FieldRule;
  /** An enum's values, and their bytes, to hand out the schema's own strings. */
  readonly values: readonly string[];
  readonly valueBytes: readonly Uint8Array[];
  /** Markets and accounts repeat from command to command: interned. cmdIds are unique: not. */
  readonly intern: boolean;
}

/** What the reader needs of a kind: its schema, its fields with their bits, and which bits it allows. */
interface KindPlan {
  readonly schema: CommandSchema;
  readonly fields: readonly (FieldSpec & { readonly index: number; readonly bit: number })[];
  readonly allowed: number;
}

const KIND_RULE: FieldRule = { type: "enum", values: COMMAND_KINDS };
/** Strings up to this many bytes are interned (a UUID account is 36). */
const INTERN_BYTES_MAX = 40;
const ascii = new TextEncoder();

/**
 * Every field name of every kind, once. A name whose rule differed between kinds could
 * not be read before its kind is known (kind need not come first): such a name is left
 * out, and commands that carry it go the generic way. None does today.
 */
function wireFields(): WireField[] {
  const rules = new Map<string, FieldRule | null>([["kind", KIND_RULE]]);
  for (const kind of COMMAND_KINDS) {
    for (const f of COMMAND_SCHEMAS[kind].fields) {
      const known = rules.get(f.name);
      if (known === undefined) rules.set(f.name, f.rule);
      else if (known !== null && JSON.stringify(known) !== JSON.stringify(f.rule)) rules.set(f.name, null);
    }
  }
  const fields: WireField[] = [];
  for (const [name, rule] of rules) {
    if (rule === null) continue;
    // Bit 31 would make the masks negative; 31 fields is far beyond the schema's 22.
    if (fields.length === 31) throw new Error("command-reader: more than 31 command fields; widen the seen-set");
    const values = rule.type === "enum" ? rule.values : [];
    fields.push({
      index: fields.length, bit: 1 << fields.length, name, key: ascii.encode(name), rule, values,
      valueBytes: values.map((v) => ascii.encode(v)), intern: rule.type === "string" && name !== "cmdId",
    });
  }
  return fields;
}

const FIELDS = wireFields();
const FIELD_BY_NAME = new Map(FIELDS.map((f) => [f.name, f]));
/** Fields by the length of their key: a key is found by comparing a few candidates' bytes. */
const FIELDS_BY_KEY_LENGTH: WireField[][] = [];
for (const f of FIELDS) (FIELDS_BY_KEY_LENGTH[f.key.length] ??= []).push(f);

function kindPlan(schema: CommandSchema): KindPlan | null {
  let allowed = 1; // kind
  const fields: (FieldSpec & { index: number; bit: number })[] = [];
  for (const spec of schema.fields) {
    const f = FIELD_BY_NAME.get(spec.name);
    if (f === undefined) return null; // a field left out (see wireFields): this kind goes the generic way
    allowed |= f.bit;
    fields.push({ ...spec, index: f.index, bit: f.bit });
  }
  return { schema, fields, allowed };
}

const PLANS = new Map<string, KindPlan | null>(COMMAND_KINDS.map((k: CommandKind) => [k, kindPlan(COMMAND_SCHEMAS[k])]));

/** Returned by the value readers for anything the generic path must see. */
const NO = undefined;

/**
 * One command's bytes, read once. A single instance serves every call (decoding is
 * synchronous and never re-entered), so reading allocates nothing but the command and
 * its new strings (and a Buffer view of bytes that are a plain Uint8Array).
 */
class CommandBytes {
  private b: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;
  private slicers: StringSlicers | null = null;
  /** Values read, by field, valid where the seen-set has the field's bit. */
  private readonly values: unknown[] = new Array<unknown>(FIELDS.length).fill(undefined);
  private readonly interner = new AsciiInterner(4096);

  read(b: Uint8Array): AnyCommand | undefined {
    const end = b.length;
    if (end === 0 || end > limits.commandBytesMax) return NO;
    const t = b[0]!;
    let count: number;
    let pos: number;
    if (t >= 0x80 && t <= 0x8f) {
      count = t & 0x0f;
      pos = 1;
    } else if (t === 0xde && end >= 3) {
      count = (b[1]! << 8) | b[2]!;
      pos = 3;
    } else return NO;
    this.b = b;
    this.pos = pos;
    this.end = end;
    this.slicers = slicersOf(b);
    let seen = 0;
    for (let i = 0; i < count; i++) {
      const f = this.key();
      if (f === NO || (seen & f.bit) !== 0) return NO;
      seen |= f.bit;
      const v = this.value(f);
      if (v === NO) return NO;
      this.values[f.index] = v;
    }
    if (this.pos !== end || (seen & 1) === 0) return NO;
    return this.build(seen);
  }

  /** The command of the kind read, fields in schema order, defaults filled in: what buildCommand makes. */
  private build(seen: number): AnyCommand | undefined {
    const plan = PLANS.get(this.values[0] as string);
    if (plan === undefined || plan === null || (seen & ~plan.allowed) !== 0) return NO;
    const cmd: Record<string, unknown> = { kind: plan.schema.kind };
    for (const f of plan.fields) {
      if ((seen & f.bit) !== 0) cmd[f.name] = this.values[f.index];
      else if (f.required) return NO;
      else if (f.fallback) cmd[f.name] = f.fallback(cmd);
    }
    const oneOf = plan.schema.oneOf;
    if (oneOf !== undefined && oneOf.every((name) => cmd[name] === undefined)) return NO;
    return cmd as unknown as AnyCommand;
  }

  /** A map key: a known field's name as a msgpack string. */
  private key(): WireField | undefined {
    const n = this.stringHeader();
    if (n < 0) return NO;
    const candidates = FIELDS_BY_KEY_LENGTH[n];
    if (candidates === undefined) return NO;
    const b = this.b;
    const at = this.pos;
    for (const f of candidates) {
      const key = f.key;
      let i = 0;
      while (i < n && b[at + i] === key[i]) i++;
      if (i === n) {
        this.pos = at + n;
        return f;
      }
    }
    return NO;
  }

  private value(f: WireField): unknown {
    const rule = f.rule;
    switch (rule.type) {
      case "string":
        return this.string(rule.max, f.intern);
      case "enum":
        return this.enumValue(f);
      case "int": {
        const v = this.int();
        return v >= rule.min && v <= rule.max ? v : NO; // NaN (not an integer encoding) fails both
      }
      case "boolean": {
        const t = this.b[this.pos];
        if (t !== 0xc2 && t !== 0xc3) return NO;
        this.pos++;
        return t === 0xc3;
      }
    }
  }

  /** An ASCII string of 1..max bytes (= characters); anything else goes the generic way. */
  private string(max: number, intern: boolean): string | undefined {
    const n = this.stringHeader();
    if (n < 1 || n > max) return NO;
    const b = this.b;
    const at = this.pos;
    for (let i = at; i < at + n; i++) if (b[i]! >= 0x80) return NO;
    this.pos = at + n;
    return intern && n <= INTERN_BYTES_MAX ? this.interner.get(b, this.slicers, at, n) : asciiString(b, this.slicers, at, n);
  }

  /** One of the enum's values, as the schema's own string. */
  private enumValue(f: WireField): string | undefined {
    const n = this.stringHeader();
    if (n < 0) return NO;
    const b = this.b;
    const at = this.pos;
    for (let k = 0; k < f.valueBytes.length; k++) {
      const v = f.valueBytes[k]!;
      if (v.length !== n) continue;
      let i = 0;
      while (i < n && b[at + i] === v[i]) i++;
      if (i === n) {
        this.pos = at + n;
        return f.values[k];
      }
    }
    return NO;
  }

  /** A msgpack string header: the byte length that follows (and is there), or -1. */
  private stringHeader(): number {
    const b = this.b;
    const at = this.pos;
    if (at >= this.end) return -1;
    const t = b[at]!;
    let n: number;
    let body: number;
    if (t >= 0xa0 && t <= 0xbf) {
      n = t & 0x1f;
      body = at + 1;
    } else if (t === 0xd9) {
      if (at + 2 > this.end) return -1;
      n = b[at + 1]!;
      body = at + 2;
    } else if (t === 0xda) {
      if (at + 3 > this.end) return -1;
      n = (b[at + 1]! << 8) | b[at + 2]!;
      body = at + 3;
    } else if (t === 0xdb) {
      if (at + 5 > this.end) return -1;
      n = b[at + 1]! * 0x1000000 + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
      body = at + 5;
    } else return -1;
    if (body + n > this.end) return -1;
    this.pos = body;
    return n;
  }

  /**
   * An integer in any msgpack integer encoding, exactly (up to 2^53; beyond, a value out
   * of every field's range), or NaN for anything else (floats included: the generic path
   * takes 5.0 for 5, and words what it rejects).
   */
  private int(): number {
    const b = this.b;
    const at = this.pos;
    if (at >= this.end) return NaN;
    const t = b[at]!;
    if (t <= 0x7f) {
      this.pos = at + 1;
      return t;
    }
    if (t >= 0xe0) {
      this.pos = at + 1;
      return t - 0x100;
    }
    const size = t === 0xcc || t === 0xd0 ? 1 : t === 0xcd || t === 0xd1 ? 2 : t === 0xce || t === 0xd2 ? 4 : t === 0xcf || t === 0xd3 ? 8 : 0;
    if (size === 0 || at + 1 + size > this.end) return NaN;
    this.pos = at + 1 + size;
    const p = at + 1;
    switch (t) {
      case 0xcc: return b[p]!;
      case 0xcd: return (b[p]! << 8) | b[p + 1]!;
      case 0xce: return u32(b, p);
      case 0xcf: return u32(b, p) * 0x1_0000_0000 + u32(b, p + 4);
      case 0xd0: return (b[p]! << 24) >> 24;
      case 0xd1: return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16;
      case 0xd2: return u32(b, p) | 0;
      default: return (u32(b, p) | 0) * 0x1_0000_0000 + u32(b, p + 4); // 0xd3
    }
  }
}

function u32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

const reader = new CommandBytes();

/**
 * The command `bytes` encode, validated, when the schema-specific reader can tell it is
 * valid; undefined when the generic path must decide (see the module comment).
 */
export function readCommand(bytes: Uint8Array): AnyCommand | undefined {
  return reader.read(bytes);
}
