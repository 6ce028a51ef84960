/**
 * The members of the cluster as bourse_members shows them, and which are live.
 *
 * Live is decided as the nodes decide it (membership.ts): by heartbeats arriving,
 * not by comparing this machine's clock with anyone's. Status watches the bucket
 * and a member is live if a new heartbeat of it arrives within `failureMs`. That
 * window is measured on the server's time stamps of the heartbeats that do
 * arrive, so a status process that is itself slow (a loaded machine) does not
 * call live members dead: it stops when every member has been heard (about one
 * heartbeat on a healthy cluster), or once the heartbeats it hears span
 * `failureMs` of server time (a silent member is then dead), or, if nobody
 * heartbeats at all, after `capMs` of its own time.
 *
 * The heartbeat's age is shown too, against this machine's clock.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import type { MemberRecord } from "../membership.js";
import { KV_MEMBERS } from "../protocol.js";
import type { MemberStatus } from "./model.js";
import { reading } from "./read-error.js";

/** Local time status waits for a first new heartbeat, in failure timeouts, and at least capMsMin. */
export const MEMBERS_WATCH = { capFactor: 4, capMsMin: 3_000 } as const;

export async function readMembers(kv: KV, jsm: JetStreamManager, failureMs: number, now: () => number = Date.now): Promise<MemberStatus[]> {
  const prefix = `$KV.${KV_MEMBERS}.`;
  const info = await reading(`stream KV_${KV_MEMBERS}`, () => jsm.streams.info(`KV_${KV_MEMBERS}`, { subjects_filter: `${prefix}>` }));
  if (info.state.messages === 0) return [];
  // The keys present, and the revision, when we started looking: a heartbeat with a
  // higher revision is new. (The watch alone cannot list every key: the bucket keeps
  // one revision per key, so a key's value may be replaced before the watch delivers
  // it, and arrive only later, as a new heartbeat.)
  const startRevision = info.state.last_seq;
  const unseen = new Set(Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length)));
  const latest = new Map<string, KvEntry>();
  const heard = new Set<string>();
  let firstNewAt: number | undefined;
  const watcher = await reading(`bucket ${KV_MEMBERS}`, () => kv.watch({ key: ">" }));
  const cap = setTimeout(() => watcher.stop(), Math.max(MEMBERS_WATCH.capFactor * failureMs, MEMBERS_WATCH.capMsMin));
  try {
    for await (const e of watcher) {
      unseen.delete(e.key);
      const prev = latest.get(e.key);
      if (prev === undefined || e.revision > prev.revision) latest.set(e.key, e);
      if (e.revision > startRevision && e.operation === "PUT") {
        heard.add(e.key);
        firstNewAt ??= e.created.getTime();
        if (e.created.getTime() - firstNewAt >= failureMs) break;
      }
      if (unseen.size === 0 && [...latest].every(([k, x]) => x.operation !== "PUT" || heard.has(k))) break;
    }
  } finally {
    clearTimeout(cap);
    watcher.stop();
  }
  const at = now();
  return [...latest.values()]
    .filter((e) => e.operation === "PUT")
    .map((e) => memberOf(e, heard.has(e.key), at))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function memberOf(e: KvEntry, live: boolean, now: number): MemberStatus {
  const record = parseRecord(e);
  const httpPort = record?.info?.["httpPort"];
  return {
    id: e.key,
    live,
    lastHeartbeatAt: e.created.toISOString(),
    ageMs: Math.max(0, now - e.created.getTime()),
    startedAt: typeof record?.startedAt === "number" ? new Date(record.startedAt).toISOString() : null,
    // A node started with --http-port 0 records 0, not the port it got: unknown.
    httpPort: typeof httpPort === "number" && httpPort > 0 ? httpPort : null,
    leaving: record?.leaving === true,
  };
}

function parseRecord(e: KvEntry): Partial<MemberRecord> | undefined {
  try {
    const r = e.json<Partial<MemberRecord>>();
    return typeof r === "object" && r !== null ? r : undefined;
  } catch {
    return undefined;
  }
}
