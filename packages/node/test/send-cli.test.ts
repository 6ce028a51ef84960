import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { AnyCommand } from "@bourse/engine";
import { STREAM_IN, STREAM_OUT, subjects } from "../src/protocol.js";
import { startNatsServer, type NatsServerHandle } from "./support/nats-server.js";
import { FakeNode, FakeOutput, acceptEverything, type EventBody } from "./support/fake-node.js";

const BIN = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));

let server: NatsServerHandle;
let nc: NatsConnection;
let node: FakeNode;

/** Accepts everything except prices of 13, which it rejects. */
const picky = (cmd: AnyCommand, inSeq: number): EventBody[] =>
  cmd.kind === "place" && cmd.price === 13
    ? [{ type: "rejected", cmdId: cmd.cmdId, account: cmd.account, market: cmd.market, orderId: 0, code: "price_out_of_band", message: "price 13 is outside the band 50..150" }]
    : acceptEverything(cmd, inSeq);

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM_IN, subjects: [subjects.inAll] });
  await jsm.streams.add({ name: STREAM_OUT, subjects: [subjects.outAll] });
  node = await FakeNode.start(nc, new FakeOutput(nc), picky);
});

test.after(async () => {
  await node?.stop();
  await nc?.close();
  await server?.dispose();
});

function bourse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const conn = (): string[] => ["--nats", server.url, "--account", "cli-1", "--partitions", "8"];

test("bad flags: one line naming the flag, exit 2, nothing sent", async () => {
  const cases: [string[], RegExp][] = [
    [["send", "place", ...conn(), "--market", "SKU-1", "--side", "up", "--qty", "1", "--price", "1"], /^bourse: --side must be one of buy, sell/],
    [["send", "place", ...conn(), "--market", "SKU-1", "--side", "buy", "--price", "1"], /^bourse: --qty is required/],
    [["send", "place", ...conn(), "--market", "SKU 1", "--side", "buy", "--qty", "1", "--price", "1"], /^bourse: --market: /],
    [["send", "place", "--account", "a", "--market", "SKU-1", "--side", "buy", "--qty", "1"], /^bourse: --nats is required/],
    [["send", "amend", ...conn(), "--market", "SKU-1", "--order-id", "3"], /^bourse: --price or --qty is required/],
    [["send", "cancel", ...conn(), "--market", "SKU-1", "--order-id", "x"], /^bourse: --order-id must be a positive integer/],
    [["send", "query", ...conn(), "--market", "SKU-1", "--order-id", "3", "--side", "buy"], /^bourse: unknown option --side/],
    [["send", "place", ...conn(), "--market", "SKU-1", "--side", "buy", "--qty", "1", "--price", "1", "--expire-at", "soon"], /^bourse: --expire-at must be/],
  ];
  for (const [args, message] of cases) {
    const r = await bourse(...args);
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.is(r.stdout, "");
  }
});

test("place prints its report; --json prints JSON lines; a rejection prints the reason and exits 1", async () => {
  const ok = await bourse("send", "place", ...conn(), "--market", "SKU-1", "--side", "buy", "--qty", "5", "--price", "100", "--cmd-id", "cli-cmd-1");
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^accepted +SKU-1 order \d+: buy limit 5 @ 100 GTC +cmd cli-cmd-1 \[p\d+ seq \d+\]\n$/);

  const json = await bourse("send", "cancel", ...conn(), "--market", "SKU-1", "--order-id", "4", "--json");
  assert.is(json.code, 0, json.stderr);
  const e = JSON.parse(json.stdout.trim()) as { type: string; orderId: number };
  assert.is(e.type, "cancelled");
  assert.is(e.orderId, 4);

  const bad = await bourse("send", "place", ...conn(), "--market", "SKU-1", "--side", "sell", "--qty", "1", "--price", "13");
  assert.is(bad.code, 1);
  assert.match(bad.stdout, /^rejected +SKU-1 order -: price_out_of_band: price 13 is outside the band/);
  assert.match(bad.stderr, /rejected: price_out_of_band/);
});

test("cancel-all prints where it was logged; query without a node fails with exit 1 naming the subject", async () => {
  const ca = await bourse("send", "cancel-all", ...conn(), "--market", "SKU-1");
  assert.is(ca.code, 0, ca.stderr);
  assert.match(ca.stdout, /^cancel-all logged in partition \d+ +cmd /);

  const q = await bourse("send", "query", ...conn(), "--market", "SKU-1", "--order-id", "1", "--timeout-ms", "300");
  assert.is(q.code, 1);
  assert.match(q.stderr, /^bourse: query of order 1 in SKU-1: nobody serves bourse\.q\.\d+/);
});

test.run();
