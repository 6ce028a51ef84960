import { assert, fail } from "./assert.js";
import { CMD_WORDS, packUuid, uuidAscii, uuidText, wordsHash } from "./cmd-id.js";
import type { MsgpackWriter } from "./msgpack-writer.js";
import type { OrderColumns } from "./order-columns.js";
import { mappedBuffer, mappedInt32Array } from "./page-arrays.js";
import { SlotTable } from "./slot-table.js";
import { hashString } from "./string-hash.js";
import type { Outcome } from "./types.js";

/**
 * An idempotency entry: an order id (see `outcomeOfEntry` in partition-state.ts),
 * or a rejection's outcome.
 */
export type IdempotencyEntry = Outcome | number;

/** Ring rows to start with (a power of 2). */
const MIN_ROWS = 32;
/** Int32 words per row: the packed cmdId, then the key's hash. */
const ROW_I32 = CMD_WORDS + 1;
const HASH = CMD_WORDS;

const probe = new Int32Array(CMD_WORDS);
const asciiScratch = new Uint8Array(36);

/**
 * Idempotency (ADR 0003): what each recent finished command did, by cmdId,
 * bounded: entries join the eviction order as they are added, and once there are
 * more than `max`, the oldest is evicted. (A live order's entry is kept apart, as
 * the order's slot in PartitionState's open table, and comes here when the order
 * finishes.)
 *
 * Every call takes the key's `cmdHash` hash (cmd-id.ts), computed once by the caller.
 *
 * The entries are rows of a ring, oldest first, in flat arrays: a cmdId that is a
 * lowercase UUID (what clients send) is kept as its four 32-bit words (cmd-id.ts),
 * any other as its string in a side array; the value is a float (an order id) or,
 * for a rejection, NaN with the outcome in a second side array. A SlotTable maps
 * each key's hash to its row, and a lookup compares the key only with the rows whose
 * hash matches: a miss (most lookups: a new command) packs nothing. About 38 bytes an
 * entry outside V8's heap where a string-keyed table took ~100 on it (a 56-byte string,
 * its key and value slots, its ring entry); at the default bound of 100,000 that is
 * ~6 MB less per partition, and as much again in a rollback image's copy (bench memory).
 *
 * Evicting deletes the oldest row's table entry at once. (Evicting lazily instead,
 * by numbering finished entries and sweeping expired ones out in sequential passes,
 * was slower: an order that finishes long after it was accepted then has to find and
 * mark its entry, as costly a cache miss as the deletion it saves.)
 */
export class IdempotencyIndex {
  /** Row r's packed cmdId at [ROW_I32 r .. + 4) (zero for a text key), its hash at [ROW_I32 r + 4]. */
  private rows: Int32Array;
  /** Row r's entry when it is a number; NaN when it is an outcome (in `outcomes`). */
  private values: Float64Array;
  /** Row r's key when it is not a packable UUID (null until one is added). */
  private texts: (string | undefined)[] | null = null;
  /** Row r's entry when it is an outcome (null until one is added). */
  private outcomes: (Outcome | undefined)[] | null = null;
  /** Rows in the ring: a power of 2. */
  private capacity = MIN_ROWS;
  private head = 0;
  private count = 0;
  private table = new SlotTable();

  constructor(readonly max: number) {
    assert(max >= 1, "an idempotency index holds at least one entry");
    this.rows = mappedInt32Array(ROW_I32 * MIN_ROWS);
    this.values = new Float64Array(mappedBuffer(8 * MIN_ROWS));
  }

  /** Makes this index hold the same entries and eviction order as `src` (outcomes are shared, not copied), reusing its storage when it can. */
  copyFrom(src: IdempotencyIndex): void {
    if (this.capacity !== src.capacity) {
      this.capacity = src.capacity;
      this.rows = mappedInt32Array(ROW_I32 * src.capacity);
      this.values = new Float64Array(mappedBuffer(8 * src.capacity));
    }
    this.rows.set(src.rows);
    this.values.set(src.values);
    this.texts = src.texts === null ? null : src.texts.slice();
    this.outcomes = src.outcomes === null ? null : src.outcomes.slice();
    this.head = src.head;
    this.count = src.count;
    this.table.copyFrom(src.table);
  }

  /**
   * Makes room for `n` entries, so that restoring a snapshot's entries (it says how many)
   * grows the ring and re-indexes it once instead of at every doubling.
   */
  reserve(n: number): void {
    let cap = this.capacity;
    while (cap < n) cap *= 2;
    if (cap > this.capacity) this.grow(cap);
  }

  /** Entries held (every entry here is a finished command's). */
  get finished(): number {
    return this.count;
  }

  get(key: string, h: number): IdempotencyEntry | undefined {
    const r = this.rowOf(key, h);
    return r < 0 ? undefined : this.valueAt(r);
  }

  /** Adds an entry unless the key is present, and evicts the oldest beyond `max`; true when it added. */
  addFinished(key: string, h: number, v: IdempotencyEntry): boolean {
    if (this.rowOf(key, h) >= 0) return false;
    this.append(key, h, v);
    while (this.count > this.max) this.evictOldest();
    return true;
  }

  /**
   * Adds the finished entry of the order in row `row` of `src`, with its cmdId's hash
   * `h`: its words are copied from the row, no text rendered or parsed. The cmdId must
   * not be in the index (PartitionState: an indexed order's entry was open until now).
   */
  addFinishedOrder(src: OrderColumns, row: number, h: number, v: IdempotencyEntry): void {
    const r = this.nextRow();
    if (src.cmdWordsTo(row, this.rows, ROW_I32 * r)) this.fill(r, undefined, h, v);
    else this.fill(r, src.cmdId(row), h, v);
    while (this.count > this.max) this.evictOldest();
  }

  /**
   * Adds an entry of a snapshot being restored, oldest first, without evicting: a
   * restored state keeps every entry of its snapshot until the next command finishes.
   * A key already present (a snapshot never repeats one) keeps its place and takes `v`.
   */
  restore(key: string, h: number, v: IdempotencyEntry): void {
    const r = this.nextRow();
    this.restoreAt(r, key, packUuid(key, this.rows, ROW_I32 * r), h, v);
  }

  /**
   * `restore` with the key's `cmdHash` (cmd-id.ts) computed from the words it is packed
   * into: restoring a snapshot parses each cmdId's text once.
   */
  restoreKey(key: string, v: IdempotencyEntry): void {
    const r = this.nextRow();
    const at = ROW_I32 * r;
    const packed = packUuid(key, this.rows, at);
    this.restoreAt(r, key, packed, packed ? wordsHash(this.rows, at) : hashString(key), v);
  }

  /** `restore`'s end: row `r` (the next one, its words written if `packed`) becomes the key's, unless the key is present. */
  private restoreAt(r: number, key: string, packed: boolean, h: number, v: IdempotencyEntry): void {
    const present = this.rowOf(key, h);
    if (present >= 0) this.setValue(present, v);
    else this.fill(r, packed ? undefined : key, h, v);
  }

  /** The `i`th finished key, oldest first (0 <= i < finished; snapshots keep this order). */
  finishedKey(i: number): string {
    const r = this.rowAt(i);
    return this.textAt(r) ?? uuidText(this.rows, ROW_I32 * r);
  }

  /** Writes the `i`th finished key as a msgpack string (a packed one straight from its words). */
  writeFinishedKey(w: MsgpackWriter, i: number): void {
    const r = this.rowAt(i);
    const text = this.textAt(r);
    if (text !== undefined) {
      w.string(text);
    } else {
      uuidAscii(this.rows, ROW_I32 * r, asciiScratch);
      w.ascii(asciiScratch);
    }
  }

  /** The value of the `i`th finished key. */
  finishedValue(i: number): IdempotencyEntry {
    return this.valueAt(this.rowAt(i));
  }

  private rowAt(i: number): number {
    assert(i >= 0 && i < this.count, "finished entry out of range");
    return (this.head + i) & (this.capacity - 1);
  }

  private textAt(r: number): string | undefined {
    return this.texts === null ? undefined : this.texts[r];
  }

  private valueAt(r: number): IdempotencyEntry {
    const v = this.values[r]!;
    return v === v ? v : this.outcomes![r]!;
  }

  private setValue(r: number, v: IdempotencyEntry): void {
    if (typeof v === "number") {
      assert(v === v, "an idempotency entry's order id is a number");
      this.values[r] = v;
      if (this.outcomes !== null) this.outcomes[r] = undefined;
    } else {
      this.values[r] = NaN;
      (this.outcomes ??= new Array<Outcome | undefined>(this.capacity).fill(undefined))[r] = v;
    }
  }

  /** The row holding `key` (hash `h`), or -1. The key is packed only once a row's hash matches. */
  private rowOf(key: string, h: number): number {
    const t = this.table;
    let packed = -1; // -1: not tried; 0: a text key; 1: in `probe`
    for (let i = t.first(h); i >= 0; i = t.next(h, i)) {
      const r = t.slotAt(i);
      const text = this.textAt(r);
      if (text !== undefined) {
        if (text === key) return r;
        continue;
      }
      if (packed < 0) packed = packUuid(key, probe, 0) ? 1 : 0;
      if (packed === 0) continue;
      const at = ROW_I32 * r;
      const rows = this.rows;
      if (rows[at] === probe[0] && rows[at + 1] === probe[1] && rows[at + 2] === probe[2] && rows[at + 3] === probe[3]) return r;
    }
    return -1;
  }

  /** Appends a new entry (its key absent) to the eviction order. */
  private append(key: string, h: number, v: IdempotencyEntry): void {
    const r = this.nextRow();
    this.fill(r, packUuid(key, this.rows, ROW_I32 * r) ? undefined : key, h, v);
  }

  /** The row the next entry goes to (the ring grown if full). */
  private nextRow(): number {
    if (this.count === this.capacity) this.grow(2 * this.capacity);
    return (this.head + this.count) & (this.capacity - 1);
  }

  /** Completes row `r` as the newest entry: its packed words are written unless `text` is its key. */
  private fill(r: number, text: string | undefined, h: number, v: IdempotencyEntry): void {
    const at = ROW_I32 * r;
    if (text === undefined) {
      if (this.texts !== null) this.texts[r] = undefined;
    } else {
      this.rows[at] = this.rows[at + 1] = this.rows[at + 2] = this.rows[at + 3] = 0;
      (this.texts ??= new Array<string | undefined>(this.capacity).fill(undefined))[r] = text;
    }
    this.rows[at + HASH] = h;
    this.setValue(r, v);
    this.table.add(h, r);
    this.count++;
  }

  private evictOldest(): void {
    const r = this.head;
    this.table.remove(this.rows[ROW_I32 * r + HASH]!, r);
    if (this.texts !== null) this.texts[r] = undefined;
    if (this.outcomes !== null) this.outcomes[r] = undefined;
    this.head = (r + 1) & (this.capacity - 1);
    this.count--;
  }

  /** Grows the ring to `cap` rows (a larger power of 2), its rows unwrapped oldest first from row 0, and re-indexes them. */
  private grow(cap: number): void {
    if (ROW_I32 * cap * 4 > 2 ** 32) fail(`idempotency index: ${cap} rows are too many`);
    const rows = mappedInt32Array(ROW_I32 * cap);
    const values = new Float64Array(mappedBuffer(8 * cap));
    const texts = this.texts === null ? null : new Array<string | undefined>(cap).fill(undefined);
    const outcomes = this.outcomes === null ? null : new Array<Outcome | undefined>(cap).fill(undefined);
    const table = new SlotTable(2 * Math.min(cap, this.max + 1)); // the most entries the ring will hold, at load ½
    for (let i = 0; i < this.count; i++) {
      const r = (this.head + i) & (this.capacity - 1);
      rows.set(this.rows.subarray(ROW_I32 * r, ROW_I32 * (r + 1)), ROW_I32 * i);
      values[i] = this.values[r]!;
      if (texts !== null) texts[i] = this.texts![r];
      if (outcomes !== null) outcomes[i] = this.outcomes![r];
      table.add(rows[ROW_I32 * i + HASH]!, i);
    }
    this.rows = rows;
    this.values = values;
    this.texts = texts;
    this.outcomes = outcomes;
    this.table = table;
    this.capacity = cap;
    this.head = 0;
  }
}
