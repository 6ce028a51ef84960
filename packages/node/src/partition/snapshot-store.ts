import { setSha256Backend, type ObjectStore } from "@nats-io/obj";

// The object store checks every snapshot's SHA-256; node:crypto's is 5–10× faster than the
// default pure-JS one (js-sha256 was 8 % of a node's CPU under load in bench e2e's profile).
setSha256Backend("native");
import { snapshotMeta, type SnapshotMeta } from "@bourse/engine";

/** The object name of a partition's newest snapshot (each put replaces the previous one). */
export function snapshotName(p: number): string {
  return `p-${p}`;
}

export interface StoredSnapshot {
  bytes: Uint8Array;
  meta: SnapshotMeta;
}

export class SnapshotReadError extends Error {
  override readonly name = "SnapshotReadError";
  readonly code = "snapshot_read_failed";
}

/** A read that takes longer than this is abandoned (a concurrent replace can stall it); the loop retries. */
const LOAD_MS_TIMEOUT = 10_000;

/** Loads the newest snapshot of a partition, or null when there is none. */
export async function loadSnapshot(store: ObjectStore, p: number): Promise<StoredSnapshot | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SnapshotReadError(`reading snapshot ${snapshotName(p)} took over ${LOAD_MS_TIMEOUT} ms`)), LOAD_MS_TIMEOUT);
  });
  try {
    return await Promise.race([readSnapshot(store, p), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function readSnapshot(store: ObjectStore, p: number): Promise<StoredSnapshot | null> {
  const r = await store.get(snapshotName(p));
  if (!r) return null;
  const bytes = await readAll(r.data);
  const failed = await r.error;
  if (failed) throw new SnapshotReadError(`snapshot ${snapshotName(p)} could not be read: ${failed.message}`, { cause: failed });
  return { bytes, meta: snapshotMeta(bytes) };
}

/** Stores a snapshot; it becomes the recovery point for the partition. */
export async function saveSnapshot(store: ObjectStore, p: number, bytes: Uint8Array, meta: SnapshotMeta): Promise<void> {
  const rs = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
  await store.put(
    { name: snapshotName(p), metadata: { lastInSeq: String(meta.lastInSeq), seq: String(meta.seq) } },
    rs,
  );
}

async function readAll(rs: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  const reader = rs.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.length;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
