import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PartitionEngine, encodeEvents, encodeValue, encodeWithPackedEvents, joinPackedEvents, packEvents, type EngineEvent } from "../src/index.js";
import { commandLog } from "./support/commands.js";

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Every event a random log produces, with its partition's sequences shifted past 32 bits now and then (int64 on the wire). */
function eventsOf(log: ReturnType<typeof commandLog> extends fc.Arbitrary<infer T> ? T : never, big: boolean): EngineEvent[] {
  const e = new PartitionEngine({ partition: 3 });
  const out: EngineEvent[] = [];
  for (const s of log) out.push(...e.apply(s.cmd, s.inSeq + (big ? 2 ** 33 : 0), s.ts));
  return out;
}

test("packed once, joined: byte for byte encodeEvents and encodeValue({ ...head, events }) for any events and subset", () => {
  fc.assert(
    fc.property(commandLog(1, 60), fc.boolean(), fc.array(fc.nat()), fc.integer({ min: -1, max: 2 ** 40 }), (log, big, picks, prevSeq) => {
      const events = eventsOf(log, big);
      const parts = packEvents(events);
      assert.ok(same(joinPackedEvents(parts), encodeEvents(events)), "the batch");
      const idx = [...new Set(picks.map((p) => p % Math.max(1, events.length)))].filter((i) => i < events.length).sort((a, b) => a - b);
      const subset = idx.map((i) => events[i]!);
      const head = { partition: 3, streamSeq: 2 ** 35 + 1, firstSeq: 1, lastSeq: events.length, prevSeq };
      assert.ok(same(encodeWithPackedEvents(head, idx.map((i) => parts[i]!)), encodeValue({ ...head, events: subset })), "a report");
      assert.ok(same(joinPackedEvents(idx.map((i) => parts[i]!)), encodeEvents(subset)), "market data");
    }),
    { numRuns: 500 },
  );
});

test("large arrays: 70,000 packed events join as encodeEvents does (array32 header)", () => {
  const events: EngineEvent[] = [];
  for (let i = 0; i < 70_000; i++) {
    events.push({ partition: 0, seq: i + 1, inSeq: i + 1, ts: 5, type: "cancelled", cmdId: `c${i}`, account: "a", market: "M", orderId: i + 1, reason: "user" } as unknown as EngineEvent);
  }
  assert.ok(same(joinPackedEvents(packEvents(events)), encodeEvents(events)));
});

test.run();
