import type { Packr } from "msgpackr";

const encoder = new TextEncoder();

/** Bytes of `s` in UTF-8 as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if ((c & 0xfc00) === 0xd800 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Writes one msgpack document piece by piece into a buffer of its own: container
 * headers, numbers and strings by hand, any other value through a Packr. A large document (a snapshot of a million
 * orders) is then never materialised as objects first, nor packed into msgpackr's
 * process-wide buffer, which would grow to 1.25–2× the document and stay that big.
 * The bytes are those `packr.pack` gives for the same document (arrays get the smallest
 * header, objects' maps a map16 one, as msgpackr writes them).
 */
export class MsgpackWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(
    private readonly packr: Packr,
    sizeHint = 64 * 1024,
  ) {
    this.buf = new Uint8Array(Math.max(1024, sizeHint));
  }

  arrayHeader(n: number): this {
    if (n < 0x10) return this.byte(0x90 | n);
    if (n < 0x10000) return this.byte(0xdc).u16(n);
    return this.byte(0xdd).u32(n);
  }

  /** As msgpackr writes an object's map: map16 even when a fixmap would do. */
  mapHeader(n: number): this {
    if (n < 0x10000) return this.byte(0xde).u16(n);
    return this.byte(0xdf).u32(n);
  }

  /** A number, encoded as msgpackr encodes it (smallest integer form up to 32 bits, else float64). */
  number(v: number): this {
    if (v >>> 0 === v) {
      if (v < 0x80) return this.byte(v);
      if (v < 0x100) return this.byte(0xcc).byte(v);
      if (v < 0x10000) return this.byte(0xcd).u16(v);
      return this.byte(0xce).u32(v);
    }
    if (v >> 0 === v) {
      if (v >= -0x20) return this.byte(0x100 + v);
      if (v >= -0x80) return this.byte(0xd0).byte(v + 0x100);
      if (v >= -0x8000) return this.byte(0xd1).u16(v & 0xffff);
      return this.byte(0xd2).u32(v >>> 0);
    }
    this.room(9);
    this.buf[this.pos++] = 0xcb;
    this.view().setFloat64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** A string, encoded as msgpackr encodes it (UTF-8, lone surrogates as U+FFFD, the smallest header). */
  string(s: string): this {
    const n = s.length;
    if (n < 0x100) {
      // ASCII up to 255 characters (ids, accounts, statuses): written in place behind its header.
      const header = n < 0x20 ? 1 : 2;
      this.room(header + n);
      const b = this.buf;
      let p = this.pos + header;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === n) {
        if (header === 1) b[this.pos] = 0xa0 | n;
        else {
          b[this.pos] = 0xd9;
          b[this.pos + 1] = n;
        }
        this.pos = p;
        return this;
      }
    }
    const len = utf8Length(s);
    if (len < 0x20) this.byte(0xa0 | len);
    else if (len < 0x100) this.byte(0xd9).byte(len);
    else if (len < 0x10000) this.byte(0xda).u16(len);
    else this.byte(0xdb).u32(len);
    this.room(len);
    encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return this;
  }

  /** A string given as its ASCII bytes (fewer than 256), as `string` would write its text. */
  ascii(bytes: Uint8Array): this {
    const n = bytes.length;
    if (n >= 0x100) throw new RangeError(`ascii: ${n} bytes`);
    const header = n < 0x20 ? 1 : 2;
    this.room(header + n);
    if (header === 1) this.buf[this.pos++] = 0xa0 | n;
    else {
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = n;
    }
    this.buf.set(bytes, this.pos);
    this.pos += n;
    return this;
  }

  nil(): this {
    return this.byte(0xc0);
  }

  /** One complete value, packed by the Packr (copied out of its buffer at once). */
  value(v: unknown): this {
    const b = this.packr.pack(v);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /**
   * The document. A view of the buffer when at most an eighth of it is unused (a big
   * buffer is mapped memory whose unwritten pages cost nothing), else a copy of exactly
   * its size: copying a 100 MB snapshot doubled the peak and, for mid-sized ones, left
   * freed blocks in the allocator's heap (bench memory).
   */
  finish(): Uint8Array {
    if (this.pos === this.buf.length) return this.buf;
    return this.pos >= this.buf.length - (this.buf.length >>> 3) ? this.buf.subarray(0, this.pos) : this.buf.slice(0, this.pos);
  }

  private byte(b: number): this {
    this.room(1);
    this.buf[this.pos++] = b;
    return this;
  }

  private u16(n: number): this {
    this.room(2);
    this.buf[this.pos++] = n >>> 8;
    this.buf[this.pos++] = n & 0xff;
    return this;
  }

  private u32(n: number): this {
    this.room(4);
    this.buf[this.pos++] = n >>> 24;
    this.buf[this.pos++] = (n >>> 16) & 0xff;
    this.buf[this.pos++] = (n >>> 8) & 0xff;
    this.buf[this.pos++] = n & 0xff;
    return this;
  }

  private view(): DataView {
    return new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.pos + n, Math.ceil(this.buf.length * 1.5)));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}
