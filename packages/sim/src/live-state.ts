/**
 * Invariant 4 against the running cluster: each market's book, as its
 * partition's owner answers a depth query, equals the book the reference model
 * holds after replaying the partition's durable command log.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeValue, encodeValue, type Side } from "@bourse/engine";
import type { ReferenceModel } from "@bourse/engine/model";
import { canonical, partitionOf, subjects, type Violation } from "@bourse/node";

const LEVELS = 100;
/** A partition may be moving (a rebalance after the last repair): ask again for this long before calling it unanswered. */
const ANSWER_MS_TIMEOUT = 15_000;

interface Level {
  price: number;
  qty: number;
  orders: number;
}

export function modelDepth(model: ReferenceModel, market: string): { bids: Level[]; asks: Level[] } {
  const side = (s: Side): Level[] => {
    const levels: Level[] = [];
    for (const o of model.resting(market, s)) {
      const last = levels[levels.length - 1];
      if (last !== undefined && last.price === o.price) {
        last.qty += o.remaining;
        last.orders++;
      } else levels.push({ price: o.price, qty: o.remaining, orders: 1 });
    }
    return levels.slice(0, LEVELS);
  };
  return { bids: side("buy"), asks: side("sell") };
}

export async function checkLiveState(nc: NatsConnection, markets: readonly string[], partitions: number, models: ReadonlyMap<number, ReferenceModel>): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const market of markets) {
    const p = partitionOf(market, partitions);
    const model = models.get(p);
    if (model === undefined) continue;
    const expected = canonical(modelDepth(model, market));
    let answer: { ok?: boolean; bids?: Level[]; asks?: Level[]; message?: string } | undefined;
    const deadline = Date.now() + ANSWER_MS_TIMEOUT;
    while (answer?.ok !== true && Date.now() < deadline) {
      try {
        const m = await nc.request(subjects.query(p), encodeValue({ kind: "depth", market, levels: LEVELS }), { timeout: 1_000 });
        answer = decodeValue(m.data) as typeof answer;
      } catch {
        await sleep(250);
      }
    }
    if (answer?.ok !== true) {
      out.push({ check: "state_mismatch", partition: p, detail: `market ${market}: no depth answer from the cluster within ${ANSWER_MS_TIMEOUT} ms (${answer?.message ?? "no reply"})` });
      continue;
    }
    const got = canonical({ bids: answer.bids ?? [], asks: answer.asks ?? [] });
    if (got !== expected) out.push({ check: "state_mismatch", partition: p, detail: `market ${market}: the cluster's book ${got.slice(0, 300)} != the model's ${expected.slice(0, 300)}` });
  }
  return out;
}
