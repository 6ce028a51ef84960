/**
 * Typed arrays whose memory comes from V8's page allocator (mmap) instead of malloc,
 * for the engine's big, growing arrays (order columns, slot tables).
 *
 * Why: glibc raises its mmap threshold to the size of each large block freed (up to
 * 32 MB), so once the first big array is freed, arrays of a few MB come from malloc's
 * heap, and when they are freed in turn (a table doubling, a column set growing) their
 * pages stay resident. bench memory at 1M resting orders: 294 MB of RSS with plain
 * buffers, 231 MB with `MALLOC_MMAP_THRESHOLD_` pinned — the same 63 MB this avoids.
 * An ES2024 resizable ArrayBuffer is always mapped by V8 itself: it reserves address
 * space up to its `maxByteLength` and commits pages as it grows, in place, and unmapping
 * it returns the memory. Growth within the reservation copies nothing.
 */

/** The ES2024 resizable ArrayBuffer (the ES2023 lib this project compiles against does not type it). */
interface ResizableBuffer extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}
const Resizable = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableBuffer;

const RESERVE_MIN_BYTES = 4 * 1024 * 1024;

/** V8's largest `maxByteLength`. */
export const MAX_ARRAY_BYTES = 2 ** 32;

type PageArray = Float64Array | Int32Array;
interface PageArrayType<T extends PageArray> {
  new (buffer: ArrayBuffer): T;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * A zeroed array of `length` elements that can grow in place to `reserveFactor` times that.
 * Every array of the kinds the engine's hot code reads is mapped, small ones included:
 * with small ones from malloc and big ones mapped, each access site saw two kinds of
 * typed array and `bench match` ran ~35 % slower than before column-wise storage,
 * against ~15 % with mapped arrays only and ~10 % with malloc'ed ones only (which
 * measured ~50 MB more at 1M resting orders). The cost of mapping every array is system
 * calls where engines are created by the thousand (the engine's tests: ~4 s more).
 */
export function pageArray<T extends PageArray>(type: PageArrayType<T>, length: number, reserveFactor = 4): T {
  const bytes = length * type.BYTES_PER_ELEMENT;
  if (bytes > MAX_ARRAY_BYTES) throw new RangeError(`an array of ${bytes} bytes is over the ${MAX_ARRAY_BYTES}-byte limit`);
  // At least 4 MiB of address space (not memory: pages count once written), so a small
  // partition's columns grow in place to ~100,000 orders instead of being copied to a
  // new mapping every fourfold (restoring 1,600 orders took 3.7 ms instead of 1.1).
  const max = Math.min(MAX_ARRAY_BYTES, Math.max(bytes, reserveFactor * bytes, reserveFactor > 1 ? RESERVE_MIN_BYTES : 0));
  // A length-tracking view: it follows the buffer when the buffer grows.
  return new type(new Resizable(bytes, { maxByteLength: max }));
}

/**
 * `a` with room for `length` elements, its contents kept and new elements zero: `a`
 * itself when its buffer can grow in place, else a copy in a new, larger reservation.
 */
export function grownArray<T extends PageArray>(type: PageArrayType<T>, a: T, length: number): T {
  const bytes = length * type.BYTES_PER_ELEMENT;
  const buffer = a.buffer as ResizableBuffer;
  if (bytes <= buffer.byteLength) return a;
  if (typeof buffer.resize === "function" && bytes <= buffer.maxByteLength) {
    buffer.resize(bytes);
    return a;
  }
  const b = pageArray(type, length);
  b.set(a);
  return b;
}

/** A zeroed buffer of `bytes`, mapped, that can grow in place to 4 times that (4 MiB at least). */
export function mappedBuffer(bytes: number): ArrayBuffer {
  if (bytes > MAX_ARRAY_BYTES) throw new RangeError(`a buffer of ${bytes} bytes is over the ${MAX_ARRAY_BYTES}-byte limit`);
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
