/**
 * `bourse send` where no node is needed: flag errors (exit 2, one line, nothing sent) and a
 * query nobody serves. The commands themselves (place, query, cancel, cancel-all, a rejection)
 * run against real `bourse node` processes in client-e2e.test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { STREAM_IN } from "../src/protocol.js";
import { provisionForTest } from "./support/provisioned.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";

const BIN = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));

let server: NatsServerHandle;
let nc: NatsConnection;

test.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  await provisionForTest(nc, 8);
});

test.after(async () => {
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
  const jsm = await jetstreamManager(nc);
  assert.is((await jsm.streams.info(STREAM_IN)).state.messages, 0, "nothing was sent");
});

test("query with no node serving the partition fails with exit 1 naming the subject", async () => {
  const q = await bourse("send", "query", ...conn(), "--market", "SKU-1", "--order-id", "1", "--timeout-ms", "300");
  assert.is(q.code, 1);
  assert.match(q.stderr, /^bourse: query of order 1 in SKU-1: nobody serves bourse\.q\.\d+/);
  assert.is(q.stdout, "");
});

test.run();
