/**
 * Partition leases and their history, from bourse_leases keys `lease.<p>`
 * (lease.ts): who holds each lease now, at which epoch, and every change of
 * holder the bucket still remembers (it keeps `history` revisions per key).
 *
 * A change is read off consecutive revisions of one key:
 * - a put by a new holder right after another holder's put: a takeover of a lease
 *   nobody released, i.e. a failover (its holder died, or was cut off);
 * - a put by a new holder after a delete: a handover (the holder released it on a
 *   graceful stop or a rebalance);
 * - a put with nothing before it: the first holder;
 * - a delete that is the key's last revision: released, not taken yet.
 * A holder that releases and takes its own lease again changes nothing. When a
 * key has as many revisions as the bucket keeps, its oldest may not be the first
 * ever, so it only sets where the changes start from.
 */
import type { KV, KvEntry } from "@nats-io/kv";
import type { LeaseValue } from "../lease.js";
import { KV_LEASES } from "../protocol.js";
import type { LeaseStatus, OwnerChange } from "./model.js";
import { reading } from "./read-error.js";

const LEASE_KEY_RE = /^lease\.(\d+)$/;

/** One revision of a lease key, as the history gives it. */
export interface LeaseRevision {
  partition: number;
  revision: number;
  /** Server time of the revision. */
  at: Date;
  /** The holder a put names ("?" if its value cannot be read); undefined for a delete or purge. */
  owner: string | undefined;
}

export interface LeaseHistory {
  /** Current holder per partition (absent: nobody holds it, or it was never taken). */
  holders: Map<number, LeaseStatus>;
  /** Every change of holder, newest first. */
  changes: OwnerChange[];
}

/** Every revision of every lease key the bucket keeps, in revision order. */
export async function readLeaseRevisions(kv: KV): Promise<LeaseRevision[]> {
  const out: LeaseRevision[] = [];
  const history = await reading(`the history of ${KV_LEASES}`, () => kv.history({ key: "lease.*" }));
  try {
    await reading(`the history of ${KV_LEASES}`, async () => {
      for await (const e of history) {
        const m = LEASE_KEY_RE.exec(e.key);
        if (m) out.push({ partition: Number(m[1]), revision: e.revision, at: e.created, owner: e.operation === "PUT" ? ownerOf(e) : undefined });
      }
    });
  } finally {
    history.stop();
  }
  return out.sort((a, b) => a.revision - b.revision);
}

/** Holders and changes from the revisions; `keptPerKey` is the bucket's history depth. */
export function leaseHistory(revisions: readonly LeaseRevision[], keptPerKey: number): LeaseHistory {
  const byPartition = new Map<number, LeaseRevision[]>();
  for (const r of [...revisions].sort((a, b) => a.revision - b.revision)) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  const holders = new Map<number, LeaseStatus>();
  const changes: OwnerChange[] = [];
  for (const [p, list] of byPartition) {
    const truncated = list.length >= keptPerKey;
    // undefined: nothing seen yet; null: seen, never held.
    let holder: string | null | undefined = truncated ? undefined : null;
    let released = false;
    list.forEach((r, i) => {
      const change = (to: string | null, kind: OwnerChange["kind"]): void =>
        void changes.push({ partition: p, from: holder ?? null, to, kind, at: r.at.toISOString(), epoch: r.revision });
      if (r.owner === undefined) {
        released = true;
        if (i === list.length - 1 && holder) change(null, "released");
        return;
      }
      if (holder === null) change(r.owner, "first");
      else if (holder !== undefined && holder !== r.owner) change(r.owner, released ? "handover" : "failover");
      holder = r.owner;
      released = false;
    });
    const last = list[list.length - 1]!;
    if (last.owner !== undefined) holders.set(p, { owner: last.owner, epoch: last.revision, at: last.at.toISOString() });
  }
  changes.sort((a, b) => b.epoch - a.epoch);
  return { holders, changes };
}

function ownerOf(e: KvEntry): string {
  try {
    const v = e.json<Partial<LeaseValue>>();
    return typeof v.owner === "string" && v.owner !== "" ? v.owner : "?";
  } catch {
    return "?";
  }
}
