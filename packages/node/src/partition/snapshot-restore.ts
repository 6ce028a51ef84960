import { PartitionEngine, SnapshotError, type PartitionEngineOptions } from "@bourse/engine";
import type { Log } from "./deps.js";
import { runInSlices } from "./slices.js";
import { SnapshotReadError, type SnapshotInfo, type SnapshotReader } from "./snapshot-store.js";

export interface RestoredEngine {
  engine: PartitionEngine;
  /** The snapshot's bytes when the engine was restored from them (null: an empty engine). */
  bytes: Uint8Array | null;
  /** Reading the snapshot (its chunks), and decoding it into the engine, in ms. */
  readMs: number;
  decodeMs: number;
}

/**
 * The engine from a partition's newest readable snapshot, decoded `sliceUnits` orders and
 * outcomes per turn of the event loop (a big book decodes for seconds); an empty engine when
 * there is none, or none that can be used — the command log is complete, so recovery then
 * replays it all.
 */
export async function restoreFromSnapshot(
  p: number,
  reader: SnapshotReader,
  info: SnapshotInfo | SnapshotReadError | null,
  opts: PartitionEngineOptions,
  sliceUnits: number,
  log: Log,
  onSlice: () => void,
): Promise<RestoredEngine> {
  const empty = (readMs = 0): RestoredEngine => ({ engine: new PartitionEngine(opts), bytes: null, readMs, decodeMs: 0 });
  let snap;
  const readStart = performance.now();
  try {
    if (info instanceof SnapshotReadError) throw info;
    snap = info === null ? null : await reader.load(p, info);
  } catch (e) {
    // An unreadable snapshot stays unreadable: nats.js purges a put's chunks when its meta
    // publish times out even if the server stored the meta, and every read of that entry
    // then finds chunks that are gone. The log is complete: replay it all.
    if (!(e instanceof SnapshotReadError)) throw e;
    log.error({ err: e }, "snapshot unreadable; replaying from the start");
    return empty();
  }
  const readMs = performance.now() - readStart;
  if (!snap) return empty(readMs);
  const decodeStart = performance.now();
  try {
    const engine = await runInSlices(PartitionEngine.restoreInSlices(snap.bytes, opts, sliceUnits), onSlice);
    return { engine, bytes: snap.bytes, readMs, decodeMs: performance.now() - decodeStart };
  } catch (e) {
    // Bytes that load (their digest matches) but do not decode: a snapshot written by a
    // faulty version, say. Retrying would fail the same way; the log is complete.
    if (!(e instanceof SnapshotError)) throw e;
    log.error({ err: e }, "snapshot does not decode; replaying from the start");
    return empty(readMs);
  }
}
