/**
 * Strings out of ASCII bytes, for the msgpack readers: flat strings of their own (never
 * slices of a larger string, so a held cmdId does not keep its payload alive), short ones
 * interned (markets, accounts, statuses repeat on every order).
 *
 * Node's Buffer.latin1Slice is the fastest way to make such a string (~50 ns for 32
 * bytes, against ~100 ns for TextDecoder and ~170 ns for String.fromCharCode over a
 * subarray); the engine imports nothing from Node, so it is used only when the runtime
 * has a Buffer, and TextDecoder otherwise.
 */

/** Node's Buffer string slicers: what `buf.toString(encoding, start, end)` calls, without its dispatch or a view object. */
export interface StringSlicers {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

/** Node's Buffer when there is one. */
const NodeBuffer = (globalThis as { Buffer?: { isBuffer(b: unknown): boolean; from(ab: ArrayBufferLike, offset: number, length: number): Uint8Array } }).Buffer;

/** `b` as a Node Buffer (itself if it is one, else a view of the same memory); null outside Node. */
export function slicersOf(b: Uint8Array): StringSlicers | null {
  if (NodeBuffer === undefined) return null;
  return (NodeBuffer.isBuffer(b) ? b : NodeBuffer.from(b.buffer, b.byteOffset, b.byteLength)) as unknown as StringSlicers;
}

const decoder = new TextDecoder();

/** `n` bytes at `at` of `b`, known to be ASCII, as a flat string. */
export function asciiString(b: Uint8Array, slicers: StringSlicers | null, at: number, n: number): string {
  return slicers !== null ? slicers.latin1Slice(at, at + n) : decoder.decode(b.subarray(at, at + n));
}

/**
 * A direct-mapped table of short ASCII strings by a hash of their bytes (verified on a
 * hit, so a collision costs a new string, never a wrong one).
 */
export class AsciiInterner {
  private readonly slots: (string | undefined)[];
  private readonly mask: number;

  /** `size` must be a power of two. */
  constructor(size: number) {
    this.slots = new Array<string | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  /** The string of `n` ASCII bytes at `at`: the table's copy if it has one, else a new one (which it keeps). */
  get(b: Uint8Array, slicers: StringSlicers | null, at: number, n: number): string {
    let h = 0x811c9dc5 ^ n;
    for (let i = at; i < at + n; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    const slot = (h >>> 0) & this.mask;
    const known = this.slots[slot];
    if (known !== undefined && known.length === n) {
      let i = 0;
      while (i < n && known.charCodeAt(i) === b[at + i]) i++;
      if (i === n) return known;
    }
    const s = asciiString(b, slicers, at, n);
    this.slots[slot] = s;
    return s;
  }
}
