/**
 * cmdIds in 16 bytes. Most clients send a random UUID as a command's cmdId; kept as
 * a string, a resting order's cmdId cost 56 bytes of heap (a 16-byte header, 36
 * characters, rounding) plus a pointer, a quarter of what a resting order costs in all.
 * A cmdId that is exactly a lowercase UUID in its canonical 8-4-4-4-12 form is kept as
 * four 32-bit words instead; any other cmdId stays a string. The mapping is exact both
 * ways (`uuidText` gives back the very string), so the engine's behaviour does not
 * depend on which form an order's cmdId takes.
 */
import { hashString } from "./string-hash.js";

/** Words a packed cmdId takes. */
export const CMD_WORDS = 4;

/** Value of each hex digit by character code (lowercase only), -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let d = 0; d < 16; d++) HEX_VALUE["0123456789abcdef".charCodeAt(d)] = d;
const HEX_CODE = new Uint8Array(16);
for (let d = 0; d < 16; d++) HEX_CODE[d] = "0123456789abcdef".charCodeAt(d);
const DASH = 45;
/** Offsets of the 32 hex digits in the text. */
const DIGIT_AT = new Uint8Array(32);
for (let i = 0, d = 0; i < 36; i++) if (i !== 8 && i !== 13 && i !== 18 && i !== 23) DIGIT_AT[d++] = i;

function digit(s: string, i: number): number {
  const c = s.charCodeAt(DIGIT_AT[i]!);
  return c < 128 ? HEX_VALUE[c]! : -1;
}

const parsed = new Int32Array(CMD_WORDS);
const other = new Int32Array(CMD_WORDS);

/** Is `s` a lowercase UUID in canonical form (what `packUuid` accepts)? */
export function isPackableUuid(s: string): boolean {
  return packUuid(s, other, 0);
}

/** Writes the words of `s` at `words[at..at+4)`; false, writing nothing, when `s` is not a packable UUID. */
export function packUuid(s: string, words: Int32Array, at: number): boolean {
  if (s.length !== 36) return false;
  if (s.charCodeAt(8) !== DASH || s.charCodeAt(13) !== DASH || s.charCodeAt(18) !== DASH || s.charCodeAt(23) !== DASH) return false;
  for (let w = 0; w < CMD_WORDS; w++) {
    let v = 0;
    for (let i = 8 * w; i < 8 * w + 8; i++) {
      const d = digit(s, i);
      if (d < 0) return false;
      v = (v << 4) | d;
    }
    parsed[w] = v;
  }
  for (let w = 0; w < CMD_WORDS; w++) words[at + w] = parsed[w]!;
  return true;
}

/** Is `s` the UUID whose words are at `words[at..at+4)`? */
export function uuidEquals(s: string, words: Int32Array, at: number): boolean {
  if (!packUuid(s, other, 0)) return false;
  for (let w = 0; w < CMD_WORDS; w++) if (words[at + w] !== other[w]) return false;
  return true;
}

/** The UUID's 36 ASCII characters into `out` from 0. */
export function uuidAscii(words: Int32Array, at: number, out: Uint8Array): void {
  for (let d = 0; d < 32; d++) {
    const word = words[at + (d >>> 3)]!;
    out[DIGIT_AT[d]!] = HEX_CODE[(word >>> (28 - 4 * (d & 7))) & 0xf]!;
  }
  out[8] = out[13] = out[18] = out[23] = DASH;
}

const scratch = new Uint8Array(36);
const codes: number[] = new Array<number>(36).fill(0);

/** The UUID's text: the string `packUuid` was given. */
export function uuidText(words: Int32Array, at: number): string {
  uuidAscii(words, at, scratch);
  for (let i = 0; i < 36; i++) codes[i] = scratch[i]!;
  return String.fromCharCode.apply(null, codes);
}

/**
 * A 30-bit hash of the UUID whose words are at `words[at..at+4)`, never 0: each word
 * mixed in by multiplication, then murmur3's finalizer, so that every bit of the
 * tag depends on every word (SlotTable keeps the top bits of tag × golden ratio).
 * Deterministic, like hashString.
 */
export function wordsHash(words: Int32Array, at: number): number {
  let h = 0x2545f491;
  for (let w = 0; w < CMD_WORDS; w++) {
    h = Math.imul(h ^ words[at + w]!, 0x5bd1e995);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 2 || 1;
}

const hashed = new Int32Array(CMD_WORDS);

/**
 * The hash the engine indexes a cmdId by: `wordsHash` of its words for a packable
 * UUID, so that an order's cmdId is hashed from its row without rendering its text;
 * `hashString` of any other cmdId.
 */
export function cmdHash(cmdId: string): number {
  return packUuid(cmdId, hashed, 0) ? wordsHash(hashed, 0) : hashString(cmdId);
}
