import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { ConsumerStalledError, ConsumerWatchdog } from "../src/partition/consumer-watchdog.js";
import { subjects } from "../src/protocol.js";
import { startNatsServer } from "../src/local/nats-server.js";
import { provisionForTest } from "./support/provisioned.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("an idle partition is not a stall, and later checks scan only what arrived since; a command left waiting is", async () => {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    await provisionForTest(nc, 4);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const first = await js.publish(subjects.in(0, "SKU-A", "acct"), "x", { msgID: "a-0" });
    for (let i = 0; i < 200; i++) await js.publish(subjects.in(1, "SKU-B", "acct"), "x", { msgID: `b-${i}` });
    const stalls: ConsumerStalledError[] = [];
    const gets: unknown[] = [];
    // The real manager, with the message gets the watchdog makes recorded (it uses only these two calls).
    const spy = {
      streams: {
        info: (stream: string) => jsm.streams.info(stream),
        getMessage: (stream: string, q: unknown) => {
          gets.push(q);
          return jsm.streams.getMessage(stream, q as never);
        },
      },
    } as unknown as JetStreamManager;
    const w = new ConsumerWatchdog(spy, 0, 50, (e) => stalls.push(e), first.seq);
    await sleep(60);
    w.check(first.seq); // partition 0 applied its only command: idle
    await sleep(50);
    assert.is(stalls.length, 0);
    assert.equal((gets[0] as { seq: number }).seq, first.seq + 1);
    await sleep(60);
    w.check(first.seq);
    await sleep(50);
    assert.is(gets.length, 1, "nothing arrived since the last check: no scan at all");
    for (let i = 0; i < 5; i++) await js.publish(subjects.in(1, "SKU-B", "acct"), "x", { msgID: `c-${i}` });
    const waiting = await js.publish(subjects.in(0, "SKU-A", "acct"), "x", { msgID: "a-1" });
    await sleep(60);
    w.check(first.seq);
    await sleep(50);
    assert.is(gets.length, 2);
    assert.equal((gets[1] as { seq: number }).seq, first.seq + 201, "starts after the stream's end at the previous check");
    assert.is(stalls.length, 1, "a command waited longer than the stall time");
    assert.match(stalls[0]!.message, new RegExp(`log sequence ${waiting.seq}`));
  } finally {
    await nc.close();
    await server.dispose();
  }
});

test.run();
