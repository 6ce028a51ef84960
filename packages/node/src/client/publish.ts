/**
 * At-least-once into the command log, exactly-once in effect: every attempt
 * carries the same Nats-Msg-Id (the cmdId), so BOURSE_IN stores a retried
 * command once within its duplicate window, and the engine's idempotency
 * memory catches a later repeat. Only an acknowledgement counts as success.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { RequestError, TimeoutError, headers as natsHeaders } from "@nats-io/transport-node";
import { JetStreamApiError, type JetStreamPublishOptions, type PubAck } from "@nats-io/jetstream";
import { CONTENT_MSGPACK, headers } from "../protocol.js";
import { BoursePublishError } from "./errors.js";

/** The one method of a JetStreamClient the publisher needs (tests wrap it to lose acks). */
export interface JsPublisher {
  publish(subject: string, data: Uint8Array, opts: Partial<JetStreamPublishOptions>): Promise<PubAck>;
}

export interface PublishPolicy {
  attemptsMax: number;
  ackMsTimeout: number;
  backoffMsBase: number;
  backoffMsMax: number;
}

export interface Published {
  ack: PubAck;
  /** Attempts it took (1 = no retry). */
  attempts: number;
}

type Verdict = { retry: boolean; mayBeLogged: boolean };

/** Publishes `data` with Nats-Msg-Id = cmdId until acknowledged; throws BoursePublishError after the last attempt. */
export async function publishCommand(
  js: JsPublisher,
  subject: string,
  data: Uint8Array,
  cmdId: string,
  policy: PublishPolicy,
): Promise<Published> {
  let mayBeLogged = false;
  for (let attempt = 1; ; attempt++) {
    const h = natsHeaders();
    h.set(headers.contentType, CONTENT_MSGPACK);
    try {
      // retries: 1 — the retry loop is ours, so every attempt is counted and backed off the same way.
      const ack = await js.publish(subject, data, { msgID: cmdId, headers: h, timeout: policy.ackMsTimeout, retries: 1 });
      return { ack, attempts: attempt };
    } catch (e) {
      const v = classify(e);
      mayBeLogged ||= v.mayBeLogged;
      if (!v.retry || attempt >= policy.attemptsMax) throw new BoursePublishError(cmdId, attempt, mayBeLogged, { cause: e });
      await sleep(backoffMs(attempt, policy), undefined, { ref: false });
    }
  }
}

function backoffMs(attempt: number, p: PublishPolicy): number {
  const base = Math.min(p.backoffMsBase * 2 ** (attempt - 1), p.backoffMsMax);
  return base + Math.floor(Math.random() * base * 0.2);
}

/**
 * Timeouts are the ambiguous case (stored, ack lost?); no responders means no
 * stream leader took it (an election, or no stream); a 503 from JetStream is
 * transient. Any other API error is the server refusing this message for good.
 */
function classify(e: unknown): Verdict {
  if (e instanceof TimeoutError) return { retry: true, mayBeLogged: true };
  if (isNoResponders(e)) return { retry: true, mayBeLogged: false };
  // Other request failures: the connection dropped while the request was out.
  if (e instanceof RequestError) return { retry: true, mayBeLogged: true };
  if (e instanceof JetStreamApiError) return e.status === 503 ? { retry: true, mayBeLogged: true } : { retry: false, mayBeLogged: false };
  return { retry: false, mayBeLogged: true };
}

/** nats.js reports no responders as a RequestError, or wraps it (JetStreamNotEnabled, not exported) as the cause. */
function isNoResponders(e: unknown): boolean {
  if (e instanceof RequestError) return e.isNoResponders();
  return e instanceof Error && e.cause instanceof RequestError && e.cause.isNoResponders();
}
