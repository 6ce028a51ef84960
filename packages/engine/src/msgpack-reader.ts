import { slicersOf, type StringSlicers } from "./ascii-strings.js";
import { SnapshotError } from "./errors.js";

/** Strings up to this many bytes are interned: statuses, order types, markets, accounts repeat on every order. */
const INTERN_BYTES_MAX = 24;
const INTERN_SLOTS = 1024;

const decoder = new TextDecoder();

/**
 * Reads one msgpack document piece by piece, the counterpart of MsgpackWriter: container
 * headers one at a time, leaves as JS values. A snapshot is then rebuilt order by order
 * from its bytes, without first materialising a tuple per order (at 1M orders, ~1 s of
 * unpacking and a doc that lives, and is copied by the collector, until the end), and in
 * slices. Reads what msgpackr writes for snapshot documents: nil, booleans, integers up
 * to 2^53, floats, strings, arrays and maps with string keys (as plain objects). Anything
 * else, or reading past the end, is a SnapshotError.
 */
export class MsgpackReader {
  pos = 0;
  private readonly view: DataView;
  /** The bytes as a Node Buffer, for its fast string slicers; null outside Node. */
  private readonly buf: StringSlicers | null;
  /** Interned short ASCII strings by a hash of their bytes (verified on a hit). */
  private readonly interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.buf = slicersOf(b);
  }

  get atEnd(): boolean {
    return this.pos >= this.b.length;
  }

  arrayHeader(): number {
    const t = this.byte();
    if (t >= 0x90 && t <= 0x9f) return t & 0x0f;
    if (t === 0xdc) return this.u16();
    if (t === 0xdd) return this.u32();
    return this.bad(t, "an array");
  }

  mapHeader(): number {
    const t = this.byte();
    if (t >= 0x80 && t <= 0x8f) return t & 0x0f;
    if (t === 0xde) return this.u16();
    if (t === 0xdf) return this.u32();
    return this.bad(t, "a map");
  }

  string(): string {
    const t = this.byte();
    if (t >= 0xa0 && t <= 0xbf) return this.utf8(t & 0x1f);
    if (t === 0xd9) return this.utf8(this.byte());
    if (t === 0xda) return this.utf8(this.u16());
    if (t === 0xdb) return this.utf8(this.u32());
    return this.bad(t, "a string");
  }

  number(): number {
    const v = this.value();
    if (typeof v !== "number") throw new SnapshotError(`snapshot: a number expected before byte ${this.pos}, got ${typeof v}`);
    return v;
  }

  /** A string, or nil as null. */
  stringOrNull(): string | null {
    if (this.peek() === 0xc0) {
      this.pos++;
      return null;
    }
    return this.string();
  }

  /** Any value. */
  value(): unknown {
    const t = this.byte();
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t >= 0xa0 && t <= 0xbf) return this.utf8(t & 0x1f);
    if (t >= 0x90 && t <= 0x9f) return this.array(t & 0x0f);
    if (t >= 0x80 && t <= 0x8f) return this.map(t & 0x0f);
    switch (t) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xcc: return this.byte();
      case 0xcd: return this.u16();
      case 0xce: return this.u32();
      case 0xcf: return this.u64(false);
      case 0xd0: return this.view.getInt8(this.advance(1));
      case 0xd1: return this.view.getInt16(this.advance(2));
      case 0xd2: return this.view.getInt32(this.advance(4));
      case 0xd3: return this.u64(true);
      case 0xca: return this.view.getFloat32(this.advance(4));
      case 0xcb: return this.view.getFloat64(this.advance(8));
      case 0xd9: return this.utf8(this.byte());
      case 0xda: return this.utf8(this.u16());
      case 0xdb: return this.utf8(this.u32());
      case 0xdc: return this.array(this.u16());
      case 0xdd: return this.array(this.u32());
      case 0xde: return this.map(this.u16());
      case 0xdf: return this.map(this.u32());
      default: return this.bad(t, "a value");
    }
  }

  private array(n: number): unknown[] {
    this.room(n);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.value();
    return out;
  }

  private map(n: number): Record<string, unknown> {
    this.room(2 * n);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = this.value();
      if (typeof k !== "string") throw new SnapshotError(`snapshot: a map key before byte ${this.pos} is not a string`);
      out[k] = this.value();
    }
    return out;
  }

  /** `n` more values need at least `n` more bytes. */
  private room(n: number): void {
    if (n > this.b.length - this.pos) throw new SnapshotError(`snapshot: ${n} values announced at byte ${this.pos}, ${this.b.length - this.pos} bytes left`);
  }

  private peek(): number {
    if (this.pos >= this.b.length) throw new SnapshotError(`snapshot: truncated at byte ${this.pos}`);
    return this.b[this.pos]!;
  }

  private byte(): number {
    const v = this.peek();
    this.pos++;
    return v;
  }

  /** The position of the next `n` bytes, which must be there; moves past them. */
  private advance(n: number): number {
    const at = this.pos;
    if (at + n > this.b.length) throw new SnapshotError(`snapshot: truncated at byte ${this.b.length} (needed ${n} bytes at ${at})`);
    this.pos = at + n;
    return at;
  }

  private u16(): number {
    return this.view.getUint16(this.advance(2));
  }

  private u32(): number {
    return this.view.getUint32(this.advance(4));
  }

  private u64(signed: boolean): number {
    const at = this.advance(8);
    const hi = signed ? this.view.getInt32(at) : this.view.getUint32(at);
    const v = hi * 4294967296 + this.view.getUint32(at + 4);
    if (!Number.isSafeInteger(v)) throw new SnapshotError(`snapshot: a 64-bit integer at byte ${at} is beyond 2^53`);
    return v;
  }

  /** A string of its own (never a slice of a larger one); short ASCII ones interned. */
  private utf8(n: number): string {
    const at = this.advance(n);
    if (n > INTERN_BYTES_MAX) return this.decodeUtf8(at, n);
    const b = this.b;
    let h = 0x811c9dc5 ^ n;
    for (let i = at; i < at + n; i++) {
      const c = b[i]!;
      if (c >= 0x80) return this.decodeUtf8(at, n);
      h = Math.imul(h ^ c, 0x01000193);
    }
    const slot = (h >>> 0) & (INTERN_SLOTS - 1);
    const known = this.interned[slot];
    if (known !== undefined && known.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (known.charCodeAt(i) !== b[at + i]) {
          same = false;
          break;
        }
      }
      if (same) return known;
    }
    const s = this.buf !== null ? this.buf.latin1Slice(at, at + n) : String.fromCharCode(...b.subarray(at, at + n));
    this.interned[slot] = s;
    return s;
  }

  private decodeUtf8(at: number, n: number): string {
    return this.buf !== null ? this.buf.utf8Slice(at, at + n) : decoder.decode(this.b.subarray(at, at + n));
  }

  private bad(t: number, what: string): never {
    throw new SnapshotError(`snapshot: ${what} expected at byte ${this.pos - 1}, found type 0x${t.toString(16)}`);
  }
}
