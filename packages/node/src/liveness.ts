/**
 * A fast, safe confirmation that a member has crashed, used by the membership's
 * failure detector (membership.ts) before its deadline.
 *
 * Every node subscribes to `bourse.node.<id>.alive` before it sends its first
 * heartbeat, and answers requests there. When the process dies, its connection
 * closes and the server drops the subscription at once; a request to the subject
 * then fails immediately with "no responders" (status 503) — proof that the node's
 * connection is gone, which a timeout is not: a node stalled by GC or CPU
 * starvation still holds its subscription, so the request merely times out and the
 * ordinary deadline decides. A false "gone" is possible only when the node really
 * has no working connection to the cluster's servers (it is reconnecting, or the
 * servers are partitioned from each other): the deadline would declare it dead a few
 * hundred ms later anyway, and ownership stays safe regardless, because leases are
 * fenced (DESIGN.md, Fencing).
 *
 * Only members that say they answer (LIVENESS_INFO in their member record) are
 * probed: a node of an older version, met during a rolling upgrade, has no such
 * subscription, and "no responders" from it proves nothing.
 */
import { RequestError, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { MemberRecord } from "./membership.js";
import { subjects } from "./protocol.js";

/** Merged into a member record's `info` by nodes that answer probes. */
export const LIVENESS_INFO = { liveness: true } as const;

/** Answers liveness probes for `id` until the returned subscription is closed. */
export async function answerLiveness(nc: NatsConnection, id: string): Promise<Subscription> {
  const sub = nc.subscribe(subjects.alive(id), {
    callback: (_err, m) => {
      m.respond();
    },
  });
  // The server must hold the subscription before any peer can hear a heartbeat from us.
  await nc.flush();
  return sub;
}

/** "gone": no responders (the member's connection is closed); "unknown": it answered, or did not in time. */
export type LivenessVerdict = "gone" | "unknown";

/** A probe function for Membership: asks `bourse.node.<id>.alive`, waits at most `timeoutMs`; "unknown" for members that do not answer probes. */
export function livenessProbe(nc: NatsConnection, timeoutMs: number): (member: MemberRecord) => Promise<LivenessVerdict> {
  return async ({ id, info }) => {
    if (info["liveness"] !== true) return "unknown";
    try {
      await nc.request(subjects.alive(id), undefined, { timeout: timeoutMs });
      return "unknown";
    } catch (e) {
      if (e instanceof RequestError && e.isNoResponders()) return "gone";
      if (e instanceof Error && e.cause instanceof RequestError && e.cause.isNoResponders()) return "gone";
      return "unknown";
    }
  };
}
