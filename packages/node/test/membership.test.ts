import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { Membership, MembershipError, type Logger } from "../src/membership.js";
import { LIVENESS_INFO, livenessProbe } from "../src/liveness.js";
import { KV_MEMBERS } from "../src/protocol.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";

const HEARTBEAT_MS = 100;
const TIMEOUT_MS = 600;
const BUCKET_TTL_MS = 5_000;
const CRASH_DETECT_MS_MAX = 1_000;
const LEAVE_DETECT_MS_MAX = 300;

interface Env {
  server: NatsServerHandle;
  ncs: NatsConnection[];
  kvs: KV[];
}

/** One server, `n` connections, the members bucket; always torn down. */
async function withEnv(n: number, fn: (env: Env) => Promise<void>): Promise<void> {
  const server = await startNatsServer();
  const ncs: NatsConnection[] = [];
  try {
    for (let i = 0; i < n; i++) ncs.push(await connect({ servers: server.url, name: `member-test-${i}` }));
    await new Kvm(ncs[0]!).create(KV_MEMBERS, { history: 1, ttl: BUCKET_TTL_MS });
    const kvs = await Promise.all(ncs.map((nc) => new Kvm(nc).open(KV_MEMBERS)));
    await fn({ server, ncs, kvs });
  } finally {
    await Promise.allSettled(ncs.map((nc) => nc.close()));
    await server.dispose();
  }
}

/** Resolves with the time (performance.now) at which m's live set first satisfies pred. */
function whenLive(m: Membership, pred: (live: string[]) => boolean, msTimeout = 3_000): Promise<number> {
  if (pred(m.live())) return Promise.resolve(performance.now());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      m.off("change", onChange);
      reject(new Error(`${m.id}: condition not met within ${msTimeout} ms; live = ${m.live().join(",")}`));
    }, msTimeout);
    const onChange = (live: string[]): void => {
      if (!pred(live)) return;
      clearTimeout(timer);
      m.off("change", onChange);
      resolve(performance.now());
    };
    m.on("change", onChange);
  });
}

const is = (ids: string[]) => (live: string[]) => live.join(",") === ids.join(",");
const lacks = (id: string) => (live: string[]) => !live.includes(id);

function member(kv: KV, id: string, extra: Partial<ConstructorParameters<typeof Membership>[0]> = {}): Membership {
  return new Membership({ kv, id, info: { http: `http://127.0.0.1/${id}` }, heartbeatMsInterval: HEARTBEAT_MS, failureMsTimeout: TIMEOUT_MS, ...extra });
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (_obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ""}`);
  return { lines, info: rec("info"), warn: rec("warn"), error: rec("error") };
}

test("three members see each other; a crash is detected by deadline, a leave at once; a return is seen", async () => {
  await withEnv(3, async ({ kvs }) => {
    const [a, b, c] = [member(kvs[0]!, "a"), member(kvs[1]!, "b"), member(kvs[2]!, "c")];
    const changesOfA: string[][] = [];
    a.on("change", (live) => changesOfA.push(live));
    const all = [a, b, c];
    let c2: Membership | undefined;
    try {
      await a.start();
      assert.equal(changesOfA[0], ["a"], "first change includes self");
      await Promise.all([b.start(), c.start()]);
      await Promise.all(all.map((m) => whenLive(m, is(["a", "b", "c"]))));
      assert.equal(a.member("b")?.info, { http: "http://127.0.0.1/b" });

      // Crash: c stops heartbeating without deleting its key.
      const crashedAt = performance.now();
      await c.stop();
      const seen = await Promise.all([a, b].map((m) => whenLive(m, lacks("c"))));
      const crashMs = seen.map((t) => Math.round(t - crashedAt));
      console.log(`  crash (stop) detected after ${crashMs.join(" / ")} ms (heartbeat ${HEARTBEAT_MS}, timeout ${TIMEOUT_MS})`);
      for (const ms of crashMs) {
        assert.ok(ms >= TIMEOUT_MS - 2 * HEARTBEAT_MS, `not long before the deadline (${ms} ms)`);
        assert.ok(ms < CRASH_DETECT_MS_MAX, `detected within ${CRASH_DETECT_MS_MAX} ms (${ms} ms)`);
      }
      assert.equal(c.live(), ["a", "b", "c"], "a stopped member's view is frozen");

      // It comes back, same id, new incarnation.
      c2 = member(kvs[2]!, "c");
      const backAt = performance.now();
      await c2.start();
      const back = await Promise.all([a, b].map((m) => whenLive(m, is(["a", "b", "c"]))));
      console.log(`  return seen after ${back.map((t) => Math.round(t - backAt)).join(" / ")} ms`);
      assert.equal(c2.live(), ["a", "b", "c"]);

      // Graceful leave: the delete marker removes b at once.
      const leftAt = performance.now();
      await b.leave();
      const gone = await Promise.all([a, c2].map((m) => whenLive(m, lacks("b"))));
      const leaveMs = gone.map((t) => Math.round(t - leftAt));
      console.log(`  leave seen after ${leaveMs.join(" / ")} ms`);
      for (const ms of leaveMs) assert.ok(ms < LEAVE_DETECT_MS_MAX, `leave seen within ${LEAVE_DETECT_MS_MAX} ms (${ms} ms)`);
      assert.equal(a.live(), ["a", "c"]);
      // Every emitted view is sorted and contains self.
      for (const live of changesOfA) {
        assert.ok(live.includes("a"));
        assert.equal(live, [...live].sort());
      }
    } finally {
      await Promise.all([...all, c2].map((m) => m?.stop()));
    }
  });
});

test("a member whose process is killed with SIGKILL is detected by deadline", async () => {
  await withEnv(2, async ({ server, kvs }) => {
    const [a, b] = [member(kvs[0]!, "a"), member(kvs[1]!, "b")];
    let child: ChildProcess | undefined;
    try {
      await Promise.all([a.start(), b.start()]);
      child = spawnMember(server.url, "k");
      const [line] = (await once(child.stdout!, "data")) as [Buffer];
      assert.match(line.toString(), /^ready/);
      await Promise.all([a, b].map((m) => whenLive(m, is(["a", "b", "k"]))));
      // Let it run a few heartbeats so the kill lands at a random point of its cycle.
      await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS + 37));
      const killedAt = performance.now();
      child.kill("SIGKILL");
      const seen = await Promise.all([a, b].map((m) => whenLive(m, lacks("k"))));
      const ms = seen.map((t) => Math.round(t - killedAt));
      console.log(`  kill -9 detected after ${ms.join(" / ")} ms`);
      for (const x of ms) assert.ok(x < CRASH_DETECT_MS_MAX, `detected within ${CRASH_DETECT_MS_MAX} ms (${x} ms)`);
      assert.equal(a.live(), ["a", "b"]);
    } finally {
      child?.kill("SIGKILL");
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

test("heartbeat failures are logged, not thrown; nobody is suspected while the view is stale", async () => {
  await withEnv(2, async ({ server, ncs, kvs }) => {
    const log = recordingLogger();
    const a = member(kvs[0]!, "a", { logger: log });
    const b = member(kvs[1]!, "b");
    try {
      await Promise.all([a.start(), b.start()]);
      await whenLive(a, is(["a", "b"]));
      const changes: string[][] = [];
      a.on("change", (live) => changes.push(live));
      // Freeze the server: a's heartbeats neither land nor come back; b's do not reach a.
      server.kill("SIGSTOP");
      await new Promise((r) => setTimeout(r, TIMEOUT_MS * 2));
      assert.ok(a.isStale, "a knows its view is stale");
      assert.equal(a.live(), ["a", "b"], "b is not declared dead while a cannot hear itself");
      assert.equal(changes, []);
      server.kill("SIGCONT");
      await new Promise((r) => setTimeout(r, TIMEOUT_MS));
      assert.not.ok(a.isStale, "fresh again");
      assert.equal(a.live(), ["a", "b"]);
      assert.ok(log.lines.some((l) => l.startsWith("warn membership view stale")), log.lines.join("\n"));
      assert.ok(ncs.every((nc) => !nc.isClosed()));
    } finally {
      server.kill("SIGCONT");
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

test("failed heartbeat puts are logged once per outage and retried on the next tick", async () => {
  await withEnv(2, async ({ kvs }) => {
    const log = recordingLogger();
    let failing = false;
    let failedPuts = 0;
    const flaky = new Proxy(kvs[0]!, {
      get: (target, prop, recv) => {
        if (prop !== "put") return Reflect.get(target, prop, recv);
        const put: KV["put"] = (k, v, o) => (failing ? (failedPuts++, Promise.reject(new Error("injected put failure"))) : target.put(k, v, o));
        return put;
      },
    });
    const a = member(flaky, "a", { logger: log });
    const b = member(kvs[1]!, "b");
    try {
      await Promise.all([a.start(), b.start()]);
      await whenLive(b, is(["a", "b"]));
      failing = true;
      await whenLive(b, lacks("a"));
      assert.ok(failedPuts >= 4, `${failedPuts} failed puts`);
      assert.is(log.lines.filter((l) => l === "warn membership heartbeat failed").length, 1, log.lines.join("\n"));
      failing = false;
      await whenLive(b, is(["a", "b"]));
      for (let i = 0; i < 50 && !log.lines.includes("info membership heartbeats recovered"); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(log.lines.includes("info membership heartbeats recovered"), log.lines.join("\n"));
      assert.equal(a.live(), ["a", "b"], "a never suspected b: it could not hear itself");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

test("options are validated; start() twice is an error", async () => {
  const kv = {} as KV;
  for (const bad of [{ id: "a.b" }, { id: "" }, { id: "a", heartbeatMsInterval: 0 }, { id: "a", heartbeatMsInterval: 400, failureMsTimeout: 600 }]) {
    try {
      new Membership({ kv, ...bad });
      assert.unreachable(JSON.stringify(bad));
    } catch (e) {
      assert.instance(e, MembershipError);
      assert.is((e as MembershipError).code, "invalid_options");
    }
  }
  await withEnv(1, async ({ kvs }) => {
    const m = member(kvs[0]!, "solo");
    try {
      await m.start();
      assert.equal(m.live(), ["solo"]);
      const err = await m.start().catch((e: unknown) => e);
      assert.instance(err, MembershipError);
      assert.is((err as MembershipError).code, "invalid_state");
    } finally {
      await m.stop();
    }
  });
});

/** A real node process running only a Membership, to be killed with SIGKILL. */
test("with liveness probes a killed member is confirmed gone before its deadline; a stalled one, or one that does not answer probes, is left to the deadline", async () => {
  await withEnv(2, async ({ server, ncs, kvs }) => {
    const logs = [recordingLogger(), recordingLogger()];
    const [a, b] = [0, 1].map((i) => member(kvs[i]!, "ab"[i]!, { logger: logs[i]!, probe: livenessProbe(ncs[i]!, HEARTBEAT_MS) }));
    const children: ChildProcess[] = [];
    try {
      await Promise.all([a!.start(), b!.start()]);
      for (const id of ["k", "s", "o"]) {
        // "o" is a node of an older version: no liveness subscription, nothing in its record.
        const child = spawnMember(server.url, id, id === "o" ? {} : LIVENESS_INFO);
        children.push(child);
        const [line] = (await once(child.stdout!, "data")) as [Buffer];
        assert.match(line.toString(), /^ready/);
      }
      await Promise.all([a!, b!].map((m) => whenLive(m, is(["a", "b", "k", "o", "s"]))));
      await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS + 37));
      const killedAt = performance.now();
      children[0]!.kill("SIGKILL");
      const seen = await Promise.all([a!, b!].map((m) => whenLive(m, lacks("k"))));
      console.log(`  kill -9 with probes: detected after ${seen.map((t) => Math.round(t - killedAt)).join(" / ")} ms (deadline ${TIMEOUT_MS} ms)`);
      for (const l of logs) assert.ok(l.lines.some((x) => x.includes("connection is gone")), "detected by the probe, not the deadline");
      for (const l of logs) l.lines.length = 0;

      // A stopped process keeps its connection: probes time out, nothing is concluded early.
      // A member that does not say it answers probes is not probed at all.
      children[1]!.kill("SIGSTOP");
      children[2]!.kill("SIGKILL");
      await Promise.all([a!, b!].map((m) => whenLive(m, (live) => !live.includes("s") && !live.includes("o"))));
      for (const l of logs) assert.not.ok(l.lines.some((x) => x.includes("connection is gone")), "stalled and old-version members are left to the deadline");
      assert.equal(a!.live(), ["a", "b"]);
    } finally {
      for (const c of children) {
        c.kill("SIGCONT");
        c.kill("SIGKILL");
      }
      await Promise.all([a!.stop(), b!.stop()]);
    }
  });
});

function spawnMember(url: string, id: string, info: Record<string, unknown> = LIVENESS_INFO): ChildProcess {
  const modules = {
    membership: new URL("../src/membership.js", import.meta.url).href,
    liveness: new URL("../src/liveness.js", import.meta.url).href,
    transport: import.meta.resolve("@nats-io/transport-node"),
    kv: import.meta.resolve("@nats-io/kv"),
  };
  const script = `
    const { Membership } = await import(${JSON.stringify(modules.membership)});
    const { connect } = await import(${JSON.stringify(modules.transport)});
    const { Kvm } = await import(${JSON.stringify(modules.kv)});
    const nc = await connect({ servers: ${JSON.stringify(url)} });
    const kv = await new Kvm(nc).open(${JSON.stringify(KV_MEMBERS)});
    const { answerLiveness } = await import(${JSON.stringify(modules.liveness)});
    await answerLiveness(nc, ${JSON.stringify(id)});
    const m = new Membership({ kv, id: ${JSON.stringify(id)}, info: ${JSON.stringify(info)}, heartbeatMsInterval: ${HEARTBEAT_MS}, failureMsTimeout: ${TIMEOUT_MS} });
    await m.start();
    process.stdout.write("ready\\n");
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  child.unref();
  return child;
}

test("a member that announces leaving drops out of the others' live sets at once but stays present (isLeaving) until it leaves", async () => {
  await withEnv(2, async ({ kvs }) => {
    const [a, b] = [member(kvs[0]!, "a"), member(kvs[1]!, "b")];
    try {
      await Promise.all([a.start(), b.start()]);
      await whenLive(a, is(["a", "b"]));
      assert.is(a.isLeaving("b"), false);
      const t0 = performance.now();
      await b.announceLeaving();
      await whenLive(a, lacks("b"));
      console.log(`  leaving seen after ${Math.round(performance.now() - t0)} ms`);
      assert.ok(a.isLeaving("b"), "still heard from: it hands off");
      assert.ok(b.isLeaving("b"));
      assert.equal(b.live(), ["a", "b"], "its own view keeps itself");
      // Its heartbeats keep saying so: still leaving a few timeouts later, never live again.
      await new Promise((r) => setTimeout(r, 2 * TIMEOUT_MS));
      assert.ok(a.isLeaving("b"));
      assert.equal(a.live(), ["a"]);
      await b.leave();
      await new Promise((r) => setTimeout(r, 50));
      assert.is(a.isLeaving("b"), false, "gone once it left");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

test.run();
