/**
 * Market → partition. This is part of the wire protocol: any client in any
 * language must compute the same partition, so the function is spelled out
 * exactly (docs/protocol.md) and pinned by PARTITION_TEST_VECTORS.
 *
 *   partition(market) = fnv1a32(utf8(market)) mod P
 *
 * The hash runs over the UTF-8 bytes of the string exactly as given: no Unicode
 * normalization, no case folding. "café" typed as U+00E9 and as "e" + U+0301
 * are different markets (see the vectors).
 */

const FNV_OFFSET_BASIS_32 = 2166136261;
const FNV_PRIME_32 = 16777619;
/** Partition counts are fixed at cluster creation; this bounds them to something sane. */
export const PARTITIONS_MAX = 65536;

/** The partition count is not an integer in 1..PARTITIONS_MAX: a configuration bug. */
export class InvalidPartitionCountError extends RangeError {
  override readonly name = "InvalidPartitionCountError";
  readonly code = "invalid_partition_count";
  constructor(readonly partitions: number) {
    super(`partition count must be an integer in 1..${PARTITIONS_MAX}, got ${partitions}`);
  }
}

/**
 * FNV-1a, 32 bit, over bytes; unsigned result. `seed` continues a previous hash
 * (fnv1a32Bytes(b, fnv1a32Bytes(a)) === fnv1a32Bytes(a ++ b)), which lets callers
 * hash a shared prefix once.
 */
export function fnv1a32Bytes(bytes: Uint8Array, seed: number = FNV_OFFSET_BASIS_32): number {
  let h = seed;
  for (const b of bytes) {
    h ^= b;
    // Math.imul keeps the product in 32 bits; a plain `*` would lose low bits to float rounding.
    h = Math.imul(h, FNV_PRIME_32);
  }
  return h >>> 0;
}

/**
 * FNV-1a, 32 bit, over the UTF-8 encoding of s (not its UTF-16 code units).
 * Encodes inline rather than with TextEncoder: this runs for every command at
 * intake, and TextEncoder's per-call cost is ~20x the hash itself. A lone
 * surrogate encodes as U+FFFD, exactly as TextEncoder and Buffer do.
 */
export function fnv1a32(s: string, seed: number = FNV_OFFSET_BASIS_32): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME_32);
      continue;
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME_32);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME_32);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const lo = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
        h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME_32);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME_32);
        h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME_32);
        h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME_32);
        continue;
      }
      c = 0xfffd;
    }
    h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME_32);
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME_32);
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME_32);
  }
  return h >>> 0;
}

export function assertPartitionCount(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) {
    throw new InvalidPartitionCountError(partitions);
  }
}

export function partitionOf(market: string, partitions: number): number {
  assertPartitionCount(partitions);
  return fnv1a32(market) % partitions;
}

export interface PartitionTestVector {
  /** The market name as a JS string (non-ASCII written with escapes so no editor can normalize it). */
  readonly market: string;
  /** The exact bytes hashed, lowercase hex. */
  readonly utf8Hex: string;
  readonly fnv1a32: number;
  /** partitionOf(market, 64). */
  readonly partition64: number;
}

/**
 * Published in docs/protocol.md. Computed with an independent implementation
 * (not this module), so the test that checks them is not circular. The first
 * three are the standard FNV-1a 32 vectors.
 */
export const PARTITION_TEST_VECTORS: readonly PartitionTestVector[] = [
  { market: "", utf8Hex: "", fnv1a32: 0x811c9dc5, partition64: 5 },
  { market: "a", utf8Hex: "61", fnv1a32: 0xe40c292c, partition64: 44 },
  { market: "foobar", utf8Hex: "666f6f626172", fnv1a32: 0xbf9cf968, partition64: 40 },
  { market: "SKU-1", utf8Hex: "534b552d31", fnv1a32: 0xe3bb934c, partition64: 12 },
  { market: "SKU-2", utf8Hex: "534b552d32", fnv1a32: 0xe6bb9805, partition64: 5 },
  { market: "BTC-EUR", utf8Hex: "4254432d455552", fnv1a32: 0x504120b1, partition64: 49 },
  { market: "ETH-USD", utf8Hex: "4554482d555344", fnv1a32: 0xe1e8fe05, partition64: 5 },
  { market: "LOT-000042", utf8Hex: "4c4f542d303030303432", fnv1a32: 0x4d017dc9, partition64: 9 },
  // "café" with precomposed é (U+00E9)
  { market: "caf\u00e9", utf8Hex: "636166c3a9", fnv1a32: 0xa82b5049, partition64: 9 },
  // "café" with e + combining acute (U+0301): a different market
  { market: "cafe\u0301", utf8Hex: "63616665cc81", fnv1a32: 0xd6dd9437, partition64: 55 },
  // "日本-株"
  { market: "\u65e5\u672c-\u682a", utf8Hex: "e697a5e69cac2de6a0aa", fnv1a32: 0x1b0c2078, partition64: 56 },
  // "🚀-MOON": outside the BMP, 4 UTF-8 bytes (a UTF-16 implementation gets this wrong)
  { market: "\u{1F680}-MOON", utf8Hex: "f09f9a802d4d4f4f4e", fnv1a32: 0xc2d65190, partition64: 16 },
];
