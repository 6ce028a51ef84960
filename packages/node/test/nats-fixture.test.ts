import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { NatsFixtureError, startNatsCluster, startNatsServer } from "../src/local/nats-server.js";

const SHARED_SERVER_PORT = 4222;

/** Dead, or a zombie: orphans are reparented to PID 1, which in some containers never reaps them. */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? false;
  } catch {
    return true;
  }
}

/** SIGKILL is delivered asynchronously: give the kernel a moment. */
async function eventuallyGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && !gone(pid); i++) await sleep(20);
  return gone(pid);
}

async function withConnection<T>(servers: string | string[], fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers, reconnect: false });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

test("a single server starts on a free port with JetStream; publish is acked; restart and crash keep data", async () => {
  const s = await startNatsServer();
  try {
    assert.match(s.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.is.not(s.port, SHARED_SERVER_PORT);
    assert.ok(s.pid > 0);
    assert.ok(existsSync(s.storeDir));

    await withConnection(s.url, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "FIXTURE", subjects: ["fixture.>"] });
      const js = jetstream(nc);
      for (const body of ["one", "two", "three"]) {
        const ack = await js.publish("fixture.x", body, { msgID: body });
        assert.is(ack.stream, "FIXTURE");
        assert.is(ack.duplicate, false);
      }
    });

    const { port, pid } = s;
    await s.restart();
    assert.is(s.port, port, "same port after restart");
    assert.is.not(s.pid, pid, "a new process");
    await withConnection(s.url, async (nc) => {
      const jsm = await jetstreamManager(nc);
      assert.is((await jsm.streams.info("FIXTURE")).state.messages, 3);
      assert.is((await jsm.streams.getMessage("FIXTURE", { seq: 2 }))?.string(), "two");
    });

    // A crash (SIGKILL) loses nothing the OS already has, even without fsync on 2.9.
    s.kill();
    await s.stop();
    assert.ok(gone(pid));
    await s.restart();
    await withConnection(s.url, async (nc) => {
      const js = jetstream(nc);
      const ack = await js.publish("fixture.x", "four");
      assert.is(ack.seq, 4);
    });
  } finally {
    await s.dispose();
  }
  assert.not.ok(existsSync(s.storeDir), "store dir removed");
  assert.ok(gone(s.pid), "process gone");
});

test("jetstream: false starts a core-only server; a paused server still stops", async () => {
  const s = await startNatsServer({ jetstream: false });
  try {
    await withConnection(s.url, async (nc) => {
      const jsm = await jetstreamManager(nc).catch((e: unknown) => e);
      assert.instance(jsm, Error, "no JetStream");
    });
    s.kill("SIGSTOP");
  } finally {
    await s.dispose();
  }
  assert.ok(gone(s.pid));
});

test("a missing binary is a typed error", async () => {
  const saved = process.env.NATS_SERVER_BIN;
  process.env.NATS_SERVER_BIN = "/nonexistent/nats-server";
  try {
    const err = await startNatsServer().catch((e: unknown) => e);
    assert.instance(err, NatsFixtureError);
    assert.is((err as NatsFixtureError).code, "binary_missing");
  } finally {
    if (saved === undefined) delete process.env.NATS_SERVER_BIN;
    else process.env.NATS_SERVER_BIN = saved;
  }
});

test("a server that cannot start fails fast with its log", async () => {
  const t0 = Date.now();
  try {
    await startNatsServer({ config: "this is { not valid" });
    assert.unreachable("started with a broken config");
  } catch (e) {
    assert.instance(e, NatsFixtureError);
    const err = e as NatsFixtureError;
    assert.is(err.code, "exited_early");
    assert.ok(err.log.length > 0, "log attached");
    assert.match(err.message, /nats-server log/);
  }
  assert.ok(Date.now() - t0 < 3_000, "fails fast");
});

test("leftover servers and temp dirs are reaped when the process exits", async () => {
  const url = new URL("../src/local/nats-server.js", import.meta.url).href;
  const script = `
    const { startNatsServer } = await import(${JSON.stringify(url)});
    const s = await startNatsServer();
    console.log(JSON.stringify({ pid: s.pid, storeDir: s.storeDir }));
    process.exit(0); // no dispose()
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script]);
  const { pid, storeDir } = JSON.parse(stdout) as { pid: number; storeDir: string };
  assert.ok(await eventuallyGone(pid), "server killed at exit");
  assert.not.ok(existsSync(storeDir), "temp dir removed at exit");
});

test("a 3-server cluster forms, takes an R3 stream, survives a member restart", async () => {
  const c = await startNatsCluster(3);
  const pids = c.servers.map((s) => s.pid);
  try {
    assert.is(c.servers.length, 3);
    assert.is(c.urls.split(",").length, 3);
    await withConnection(c.serverUrls, async (nc) => {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.add({ name: "R3", subjects: ["r3.>"], num_replicas: 3 });
      assert.is(info.config.num_replicas, 3);
      const js = jetstream(nc);
      assert.is((await js.publish("r3.a", "x")).seq, 1);
    });

    const member = c.servers[2]!;
    await member.stop();
    await withConnection(c.servers[0]!.url, async (nc) => {
      // Two of three is a quorum: still writable. If the stopped member led the stream, there are no
      // responders until a new leader is elected, which nats.js v3 reports as "jetstream is not
      // enabled" (JetStreamNotEnabled); `retries` backs off and retries exactly that case.
      const ack = await jetstream(nc).publish("r3.a", "y", { msgID: "y", retries: 30, timeout: 5_000 });
      assert.is(ack.seq, 2);
    });
    await member.restart();
    await c.waitForMetaLeader();
    await withConnection(member.url, async (nc) => {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info("R3");
      assert.is(info.state.messages, 2);
      assert.is(info.cluster?.replicas?.length, 2);
    });
  } finally {
    await c.dispose();
  }
  for (const s of c.servers) assert.not.ok(existsSync(s.storeDir), "store dir removed");
  for (const pid of [...pids, ...c.servers.map((s) => s.pid)]) assert.ok(gone(pid), `pid ${pid} gone`);
});

test.run();
