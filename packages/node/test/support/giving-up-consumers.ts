import type { JetStreamClient } from "@nats-io/jetstream";

/**
 * A JetStream client whose consumers deliver nothing and end their iterator with an error
 * after `afterMs`, as nats.js ends an ordered consumer it cannot re-create (a NATS server
 * gone too long). Everything else is the real client.
 */
export function consumersThatGiveUp(js: JetStreamClient, afterMs: number, message = "test: the consumer gave up"): JetStreamClient {
  return new Proxy(js, {
    get(target, prop, receiver) {
      if (prop === "consumers") {
        return {
          get: async (...args: Parameters<JetStreamClient["consumers"]["get"]>) => {
            const c = await target.consumers.get(...args);
            return {
              delete: () => c.delete(),
              consume: async (o: object) => {
                const real = await c.consume(o);
                return {
                  stop: (e?: Error) => real.stop(e),
                  async *[Symbol.asyncIterator]() {
                    if (afterMs > 0) await new Promise((r) => setTimeout(r, afterMs));
                    real.stop();
                    throw new Error(message);
                  },
                };
              },
            };
          },
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
