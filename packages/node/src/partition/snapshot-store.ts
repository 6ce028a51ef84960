import { createHash } from "node:crypto";
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { setSha256Backend, type ObjectStore } from "@nats-io/obj";
import { OBJ_SNAPSHOTS } from "../protocol.js";

// The object store checks every snapshot's SHA-256 when it stores one; node:crypto's is 5–10×
// faster than the default pure-JS one (js-sha256 was 8 % of a node's CPU in bench e2e's profile).
setSha256Backend("native");
import type { SnapshotMeta } from "@bourse/engine";

/** The object name of a partition's newest snapshot (each put replaces the previous one). */
export function snapshotName(p: number): string {
  return `p-${p}`;
}

/**
 * What the object store's meta entry says about a stored snapshot: where its chunks
 * are, how big it is, its digest, and the positions `saveSnapshot` recorded — enough
 * to open the command consumer at `lastInSeq + 1` while the chunks are still loading.
 */
export interface SnapshotInfo {
  name: string;
  nuid: string;
  size: number;
  chunks: number;
  /** SHA-256 of the whole object. */
  sha256: Buffer;
  seq: number;
  lastInSeq: number;
}

export class SnapshotReadError extends Error {
  override readonly name = "SnapshotReadError";
  readonly code = "snapshot_read_failed";
}

/** A read that takes longer than this is abandoned; the partition replays from the start instead. */
const LOAD_MS_TIMEOUT = 10_000;
/** Chunks replaced under a read (a newer snapshot was stored meanwhile): read the newer one, this many times. */
const REPLACED_ATTEMPTS = 3;

/**
 * Snapshots are stored with nats.js's object store (chunks on `$O.<bucket>.C.<nuid>`,
 * then a JSON meta entry on `$O.<bucket>.M.<base64url(name)>`) but read here with
 * JetStream direct gets: one for the meta entry, one per chunk. The library's reader
 * creates a push consumer per read, and on nats-server 2.9 a survivor recovering 20
 * partitions at once spent 70 ms doing that against ~12 ms for direct gets (bench failover).
 */
export class SnapshotReader {
  readonly stream: string;

  constructor(
    private readonly jsm: JetStreamManager,
    readonly bucket: string = OBJ_SNAPSHOTS,
  ) {
    this.stream = `OBJ_${bucket}`;
  }

  /** The newest snapshot's meta entry, or null when the partition has none. */
  async info(p: number): Promise<SnapshotInfo | null> {
    const name = snapshotName(p);
    const m = await this.get({ last_by_subj: `$O.${this.bucket}.M.${base64UrlPadded(name)}` }, name);
    if (!m) return null;
    return parseInfo(name, m);
  }

  /** The snapshot's bytes, digest-checked; null when its chunks were replaced by a newer snapshot meanwhile. */
  async bytes(info: SnapshotInfo): Promise<Uint8Array | null> {
    const out = new Uint8Array(info.size);
    const hash = createHash("sha256");
    const subject = `$O.${this.bucket}.C.${info.nuid}`;
    let at = 0;
    let from = 1;
    for (let c = 0; c < info.chunks; c++) {
      const m = await this.get({ seq: from, next_by_subj: subject }, info.name);
      if (!m || m.subject !== subject) return null;
      if (at + m.data.length > info.size) throw new SnapshotReadError(`snapshot ${info.name}: chunks exceed the recorded size ${info.size}`);
      out.set(m.data, at);
      hash.update(m.data);
      at += m.data.length;
      from = m.seq + 1;
    }
    if (at !== info.size) throw new SnapshotReadError(`snapshot ${info.name}: ${at} bytes in ${info.chunks} chunks, ${info.size} recorded`);
    if (!hash.digest().equals(info.sha256)) throw new SnapshotReadError(`snapshot ${info.name}: SHA-256 does not match its meta entry`);
    return out;
  }

  /**
   * Reads the snapshot `info` names, or the newer one that replaced it while reading;
   * null when the partition has none. Gives up with SnapshotReadError after 10 s.
   */
  async load(p: number, info?: SnapshotInfo | null): Promise<{ info: SnapshotInfo; bytes: Uint8Array } | null> {
    return withTimeout(this.loadUntimed(p, info), LOAD_MS_TIMEOUT, () => new SnapshotReadError(`reading snapshot ${snapshotName(p)} took over ${LOAD_MS_TIMEOUT} ms`));
  }

  private async loadUntimed(p: number, first?: SnapshotInfo | null): Promise<{ info: SnapshotInfo; bytes: Uint8Array } | null> {
    let info = first === undefined ? await this.info(p) : first;
    for (let attempt = 1; info; attempt++) {
      const bytes = await this.bytes(info);
      if (bytes) return { info, bytes };
      if (attempt >= REPLACED_ATTEMPTS) throw new SnapshotReadError(`snapshot ${info.name}: chunks missing ${attempt} times (replaced while reading, or lost)`);
      info = await this.info(p);
    }
    return null;
  }

  private async get(query: Parameters<JetStreamManager["direct"]["getMessage"]>[1], name: string): Promise<StoredMsg | null> {
    try {
      return await this.jsm.direct.getMessage(this.stream, query);
    } catch (e) {
      throw new SnapshotReadError(`snapshot ${name}: direct get on ${this.stream} failed: ${(e as Error).message}`, { cause: e });
    }
  }
}

function parseInfo(name: string, m: StoredMsg): SnapshotInfo | null {
  let doc: Record<string, unknown>;
  try {
    doc = m.json<Record<string, unknown>>();
  } catch (e) {
    throw new SnapshotReadError(`snapshot ${name}: meta entry is not JSON`, { cause: e });
  }
  if (doc["deleted"] === true) return null;
  const meta = (doc["metadata"] ?? {}) as Record<string, unknown>;
  const digest = typeof doc["digest"] === "string" ? doc["digest"] : "";
  const info = {
    name,
    nuid: doc["nuid"],
    size: doc["size"],
    chunks: doc["chunks"],
    sha256: digest.startsWith("SHA-256=") ? Buffer.from(digest.slice(8), "base64url") : Buffer.alloc(0),
    seq: Number(meta["seq"]),
    lastInSeq: Number(meta["lastInSeq"]),
  };
  const ok =
    typeof info.nuid === "string" && info.nuid.length > 0 &&
    Number.isSafeInteger(info.size) && Number.isSafeInteger(info.chunks) &&
    info.sha256.length === 32 && Number.isSafeInteger(info.seq) && Number.isSafeInteger(info.lastInSeq);
  if (!ok) throw new SnapshotReadError(`snapshot ${name}: meta entry lacks nuid, size, chunks, a SHA-256 digest or the seq/lastInSeq metadata`);
  return info as SnapshotInfo;
}

/** The object store's name encoding: base64url with padding. */
function base64UrlPadded(s: string): string {
  return Buffer.from(s).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

async function withTimeout<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
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
