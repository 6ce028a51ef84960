/**
 * Prepared handoff (make before break): a partition's successor asks its live previous
 * owner to let go only once it has prepared — snapshot loaded, engine restored, command
 * consumer open (PartitionRunner.prepare) — and the previous owner serves until asked.
 *
 *   successor                                   previous owner (leaving, or moved off p)
 *   table gives it p; holder is live
 *   prepare() ................................. still applying p's commands, serving queries
 *   request bourse.node.<holder>.release  ───▶  stop consuming p, flush its output,
 *                                                release the lease (no snapshot: the
 *                                                successor's consumer holds what came since)
 *                                          ◀───  { released: true, lastInSeq }
 *   take the lease (one compare-and-set on the revision its lease watch saw), continue
 *   from the output position in the reply, apply what its consumer holds (output
 *   already durable suppressed), serve
 *
 * A command waits only for that switch, instead of for the previous owner's stop plus the
 * successor's whole recovery. Every step after the reply is the ordinary recovery, so the
 * guarantees are the same (DESIGN.md, Recovery; fencing by epoch and expected sequence).
 * A previous owner that does not answer (an older version, "no responders"; or too slow)
 * is waited for as before: it releases by itself after its own wait (BourseNode,
 * HANDOFF_PREPARE_MS_MAX), and the successor, polling the lease, takes over then.
 *
 * Payloads are JSON, so an operator can ask by hand:
 *   nats req bourse.node.n1.release '{"partition":3}'
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { subjects } from "./protocol.js";

export interface ReleaseRequest {
  partition: number;
}

export type ReleaseReply =
  /**
   * The lease is released (or was not held here). `lastInSeq`: the last command the node
   * applied for the partition; `output`: where its durable output ends, when all it
   * queued was acknowledged (the successor then need not read it: fencing still checks it).
   */
  | { released: true; lastInSeq?: number; output?: { lastSeq: number; streamSeq: number } }
  /** The node still has the partition (its table still gives it p, say): take it the ordinary way. */
  | { released: false; reason: string };

/** Asks `holder` to release partition `p`; null when it cannot say (no responders, timeout, a reply that does not parse). */
export async function requestRelease(nc: NatsConnection, holder: string, p: number, timeoutMs: number): Promise<ReleaseReply | null> {
  try {
    const m = await nc.request(subjects.release(holder), JSON.stringify({ partition: p } satisfies ReleaseRequest), { timeout: timeoutMs });
    return parseReply(m.string());
  } catch {
    return null;
  }
}

/** Answers release requests for node `id` with `handle`; a request that does not parse gets `released: false` and why. */
export function answerReleases(nc: NatsConnection, id: string, handle: (p: number) => Promise<ReleaseReply>): Subscription {
  return nc.subscribe(subjects.release(id), {
    callback: (_err, m) => {
      const p = parseRequest(m.string());
      const answer = p === null ? Promise.resolve<ReleaseReply>({ released: false, reason: "expected {\"partition\": <non-negative integer>}" }) : handle(p);
      void answer
        .catch((e: unknown): ReleaseReply => ({ released: false, reason: `release failed: ${e instanceof Error ? e.message : String(e)}` }))
        .then((r) => {
          if (m.reply) m.respond(JSON.stringify(r));
        });
    },
  });
}

export function parseRequest(text: string): number | null {
  try {
    const v = JSON.parse(text) as Partial<ReleaseRequest> | null;
    const p = v?.partition;
    return typeof p === "number" && Number.isInteger(p) && p >= 0 ? p : null;
  } catch {
    return null;
  }
}

export function parseReply(text: string): ReleaseReply | null {
  try {
    const v = JSON.parse(text) as { released?: unknown; lastInSeq?: unknown; reason?: unknown; output?: { lastSeq?: unknown; streamSeq?: unknown } } | null;
    if (v?.released === true) {
      const r: ReleaseReply = { released: true };
      if (isSeq(v.lastInSeq)) r.lastInSeq = v.lastInSeq;
      if (isSeq(v.output?.lastSeq) && isSeq(v.output?.streamSeq)) r.output = { lastSeq: v.output.lastSeq, streamSeq: v.output.streamSeq };
      return r;
    }
    if (v?.released === false) return { released: false, reason: typeof v.reason === "string" ? v.reason : "" };
    return null;
  } catch {
    return null;
  }
}

function isSeq(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * This node's partitions preparing a handoff. A prepared partition asks for its release
 * only once none is preparing any more (or `idle`'s bound passes): on nats-server 2.9 each
 * consumer creation is a scan of the shared log (~10 ms, one at a time on the server), and
 * a partition switching while other partitions' consumers are created waited for all of
 * them — its lease write and first output publish stalled ~200 ms behind the burst (bench
 * failover, 2026-11-27). The previous owner serves meanwhile, so waiting costs nothing.
 */
export class PreparingPartitions {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** One partition starts preparing; call the returned function (once) when it is done, however it ended. */
  begin(): () => void {
    this.count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.count === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  get preparing(): number {
    return this.count;
  }

  /** Resolves when no partition is preparing, or after `maxMs`. */
  idle(maxMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}
