/**
 * Buffers whose memory comes from V8's page allocator (mmap) instead of malloc, for the
 * engine's big, growing arrays (order rows, slot tables).
 *
 * Why: glibc raises its mmap threshold to the size of each large block freed (up to
 * 32 MB), so once the first big array is freed, arrays of a few MB come from malloc's
 * heap, and when they are freed in turn (a table doubling, a column set growing) their
 * pages stay resident. bench memory at 1M resting orders: 294 MB of RSS with plain
 * buffers, 231 MB with `MALLOC_MMAP_THRESHOLD_` pinned — the same 63 MB this avoids.
 * An ES2024 resizable ArrayBuffer is always mapped by V8 itself: it reserves address
 * space up to its `maxByteLength` and commits pages as it grows, in place, and unmapping
 * it returns the memory. Growth within the reservation copies nothing.
 *
 * Every such array is mapped, small ones included: with small ones from malloc and big
 * ones mapped, each access site saw two kinds of typed array and `bench match` ran
 * ~35 % slower than before column-wise storage, against ~15 % with mapped arrays only
 * and ~10 % with malloc'ed ones only (which measured ~50 MB more at 1M resting orders).
 * The cost is system calls where engines are created by the thousand (the engine's
 * tests: ~4 s more).
 */

/** The ES2024 resizable ArrayBuffer (the ES2023 lib this project compiles against does not type it). */
interface ResizableBuffer extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}
const Resizable = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableBuffer;

/** V8's largest `maxByteLength`. */
export const MAX_ARRAY_BYTES = 2 ** 32;

/**
 * Address space a growable buffer reserves at least (not memory: pages count once
 * written), so that a small partition's rows grow in place to ~50,000 orders instead of
 * moving to a new mapping every fourfold (restoring 1,600 orders took 3.7 ms, 1.1 ms
 * before column-wise storage, ~1.9 ms with this).
 */
const RESERVE_MIN_BYTES = 4 * 1024 * 1024;

function checked(bytes: number): number {
  if (bytes > MAX_ARRAY_BYTES) throw new RangeError(`a buffer of ${bytes} bytes is over the ${MAX_ARRAY_BYTES}-byte limit`);
  return bytes;
}

/** A zeroed, mapped Int32Array of `length` elements (it does not grow: a resized table is a new one). */
export function mappedInt32Array(length: number): Int32Array {
  const bytes = checked(4 * length);
  return new Int32Array(new Resizable(bytes, { maxByteLength: bytes }));
}

/** A zeroed, mapped buffer of `bytes` that can grow in place to 4 times that (4 MiB at least). */
export function mappedBuffer(bytes: number): ArrayBuffer {
  checked(bytes);
  return new Resizable(bytes, { maxByteLength: Math.min(MAX_ARRAY_BYTES, Math.max(4 * bytes, RESERVE_MIN_BYTES)) });
}

/**
 * `buffer` with room for `bytes`, its contents kept and new bytes zero: the same buffer
 * when it grows in place (its length-tracking views follow), else a copy in a new mapping.
 */
export function grownBuffer(buffer: ArrayBuffer, bytes: number): ArrayBuffer {
  const b = buffer as ResizableBuffer;
  if (bytes <= b.byteLength) return buffer;
  if (typeof b.resize === "function" && bytes <= b.maxByteLength) {
    b.resize(bytes);
    return buffer;
  }
  const next = mappedBuffer(bytes);
  new Uint8Array(next).set(new Uint8Array(buffer));
  return next;
}
