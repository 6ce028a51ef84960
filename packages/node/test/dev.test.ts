/**
 * `bourse dev` end to end: the real CLI as a child process, its own
 * nats-server on a free port and real node processes, in a temp data dir.
 * Whatever a run leaves behind (a failed assertion, a killed run) is stopped
 * by pid from the data dir's pids.json, and the dir removed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { decodeEvents, type EngineEvent } from "@bourse/engine";
import { isOurs, PID_FILE, type PidRecord } from "../src/dev/pid-file.js";
import { isAlive } from "../src/dev/processes.js";
import { STREAM_OUT, subjects } from "../src/protocol.js";
import { readStream } from "../src/verify/durable-log.js";
import { startNatsServer } from "../src/local/nats-server.js";
import { trackChild, untrackChild } from "../src/local/reaper.js";

const BIN = fileURLToPath(new URL("../../bin/bourse.js", import.meta.url));
/** A run must end within this long of its --duration (start-up and shutdown included). */
const RUN_MS_SLACK = 25_000;

interface Run {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: () => boolean;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function dev(args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const child = spawn(process.execPath, [BIN, "dev", ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  trackChild(child);
  let out = "";
  let err = "";
  let exited = false;
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once("close", (code) => {
      exited = true;
      untrackChild(child);
      resolve({ code, stdout: out, stderr: err });
    });
  });
  return { pid: child.pid!, stdout: () => out, stderr: () => err, exited: () => exited, done };
}

async function finished(r: Run, ms: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bourse dev did not finish within ${ms} ms:\n${r.stdout()}\n${r.stderr()}`)), ms);
  });
  try {
    return await Promise.race([r.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `f`; on timeout the error carries `context()` (a run's output so far), so a slow start can be diagnosed from CI's log. */
async function until(what: string, ms: number, f: () => boolean | Promise<boolean>, context?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${context ? `\n--- output so far ---\n${context()}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => s.once("error", reject).listen(0, "127.0.0.1", () => resolve()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function pidRecords(dir: string): PidRecord[] {
  const f = join(dir, PID_FILE);
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as { records: PidRecord[] }).records : [];
}

/** SIGKILLs, by pid, every process the data dir's runs recorded that is still alive and still ours; removes the dir. */
function cleanup(dir: string, runs: Run[]): void {
  for (const r of runs) if (isAlive(r.pid)) process.kill(r.pid, "SIGKILL");
  for (const r of pidRecords(dir)) if (r.pid !== process.pid && isAlive(r.pid) && isOurs(r)) process.kill(r.pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}

/** Events in BOURSE_OUT, read through the run's own server. */
async function outputEvents(port: number): Promise<EngineEvent[]> {
  const nc = await connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    if ((await jsm.streams.info(STREAM_OUT)).state.messages === 0) return [];
    return (await readStream(jetstream(nc), STREAM_OUT, subjects.outAll)).flatMap((m) => decodeEvents(m.data));
  } catch {
    return [];
  } finally {
    await nc.close();
  }
}

const oneLine = (s: string): boolean => s.trim().split("\n").length === 1;

test("bad flags exit 2 with one line; a missing nats-server or a taken port exit 1 with what to do", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bourse-dev-"));
  const runs: Run[] = [];
  let blocker: Server | undefined;
  try {
    for (const [args, message] of [
      [["--nodes", "0"], /^bourse: --nodes must be a positive integer/],
      [["--port", "70000"], /^bourse: --port must be a port number/],
      [["--rate", "fast"], /^bourse: --rate must be a positive integer/],
      [["--data", dir, "--bogus"], /^bourse: unknown option --bogus/],
    ] as const) {
      const r = dev([...args]);
      runs.push(r);
      const { code, stderr } = await finished(r, 10_000);
      assert.is(code, 2, stderr);
      assert.match(stderr, message);
      assert.ok(oneLine(stderr), stderr);
    }

    const missing = dev(["--data", dir], { ...process.env, NATS_SERVER_BIN: join(dir, "no-such-nats-server") });
    runs.push(missing);
    const m = await finished(missing, 10_000);
    assert.is(m.code, 1, m.stderr);
    assert.match(m.stderr, /sudo apt-get install nats-server/);
    assert.match(m.stderr, /brew install nats-server/);
    assert.match(m.stderr, /go install github\.com\/nats-io\/nats-server\/v2@latest/);

    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(port, "127.0.0.1", () => resolve()));
    const taken = dev(["--data", dir, "--port", String(port), "--http-port", "0"]);
    runs.push(taken);
    const t = await finished(taken, 10_000);
    assert.is(t.code, 1, t.stderr);
    assert.match(t.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use by another program`));
    assert.ok(!existsSync(join(dir, PID_FILE)), "a refused run leaves no pid file");
  } finally {
    blocker?.close();
    cleanup(dir, runs);
  }
});

test("runs a cluster with demo load for --duration, stops cleanly, and a second run resumes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bourse-dev-"));
  const runs: Run[] = [];
  try {
    const port = await freePort();
    const common = ["--data", dir, "--port", String(port), "--nodes", "2", "--http-port", "0"];

    // First run: a new cluster of 4 partitions.
    const first = dev(["--duration", "8", "--partitions", "4", ...common]);
    runs.push(first);
    await until("the cluster to come up", 20_000, () => first.stdout().includes("Bourse is up") || first.exited(), () => `${first.stdout()}\n${first.stderr()}`);
    assert.match(first.stdout(), /Bourse is up: 2 nodes, 4 partitions/, first.stderr());
    const pids = pidRecords(dir);
    assert.equal(pids.map((r) => r.role).sort(), ["nats", "node", "node", "supervisor"]);
    let events: EngineEvent[] = [];
    const count = (type: EngineEvent["type"]): number => events.filter((e) => e.type === type).length;
    await until("orders and trades in BOURSE_OUT", 7_000, async () => {
      events = await outputEvents(port);
      return count("accepted") > 10 && count("trade") > 0;
    });
    assert.is(count("market"), 8, "the demo markets were defined");
    const r1 = await finished(first, 8_000 + RUN_MS_SLACK);
    assert.is(r1.code, 0, `${r1.stdout}\n${r1.stderr}`);
    assert.match(r1.stdout, /^\[[\d:]+\] node-1 +pid \d+ +ready +partitions +\d+ +cmd\/s/m);
    assert.match(r1.stdout, /^\[[\d:]+\] node-2 +pid \d+ +ready +partitions +\d+ +cmd\/s/m);
    assert.match(r1.stdout, /cluster +4\/4 partitions owned, 2\/2 nodes ready; load \d+ cmd\/s: [1-9]\d* accepted/);
    assert.match(r1.stdout, /bourse dev: stopped/);
    assert.ok(!existsSync(join(dir, PID_FILE)), "a clean stop removes the pid file");
    for (const r of pids) assert.not.ok(r.pid !== process.pid && isAlive(r.pid) && isOurs(r), `${r.name} (pid ${r.pid}) still runs`);

    // Second run: same data, no --partitions: the cluster keeps its 4 and resumes.
    const second = dev(["--duration", "3", ...common]);
    runs.push(second);
    await until("the second cluster to come up", 20_000, () => second.stdout().includes("Bourse is up") || second.exited(), () => `${second.stdout()}\n${second.stderr()}`);
    assert.not.ok(second.exited(), second.stderr());
    assert.match(second.stdout(), /Bourse is up: 2 nodes, 4 partitions/);
    let resumed: EngineEvent[] = [];
    await until("more events after the first run's", 6_000, async () => (resumed = await outputEvents(port)).length > events.length);
    // The repeated market definitions (same cmdIds) did not define the markets again.
    assert.is(resumed.filter((e) => e.type === "market").length, events.filter((e) => e.type === "market").length);
    const r2 = await finished(second, 3_000 + RUN_MS_SLACK);
    assert.is(r2.code, 0, `${r2.stdout}\n${r2.stderr}`);
    assert.match(r2.stdout, /cluster +4\/4 partitions owned, 2\/2 nodes ready/);
    const recovered = ["node-1", "node-2"]
      .flatMap((n) => readFileSync(join(dir, `${n}.log`), "utf8").split("\n"))
      .filter((l) => l.includes('"partition recovering"') && !l.includes('"lastInSeq":0,'));
    assert.ok(recovered.length > 0, "partitions recovered state from the first run");
  } finally {
    cleanup(dir, runs);
  }
});

test("the processes a killed run left are stopped by the next run, which then resumes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bourse-dev-"));
  const runs: Run[] = [];
  try {
    const port = await freePort();
    const common = ["--data", dir, "--port", String(port), "--nodes", "2", "--partitions", "4", "--http-port", "0"];
    const crashed = dev(common);
    runs.push(crashed);
    await until("the cluster to come up", 20_000, () => crashed.stdout().includes("Bourse is up") || crashed.exited());
    assert.not.ok(crashed.exited(), crashed.stderr());
    process.kill(crashed.pid, "SIGKILL");
    await crashed.done;
    const left = pidRecords(dir).filter((r) => r.role !== "supervisor");
    assert.is(left.length, 3);
    for (const r of left) assert.ok(isAlive(r.pid) && isOurs(r), `${r.name} outlived the killed run`);

    const next = dev(["--duration", "2", ...common]);
    runs.push(next);
    const r = await finished(next, 2_000 + RUN_MS_SLACK);
    assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /a previous bourse dev did not stop cleanly/);
    for (const x of left) assert.match(r.stdout, new RegExp(`stopped ${x.name} \\(pid ${x.pid}\\)`));
    for (const x of left) assert.not.ok(isAlive(x.pid), `${x.name} (pid ${x.pid}) was stopped`);
    assert.match(r.stdout, /cluster +4\/4 partitions owned, 2\/2 nodes ready/);
  } finally {
    cleanup(dir, runs);
  }
});

test("with --nats it uses that server and starts none; a --partitions the cluster disagrees with is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bourse-dev-"));
  const runs: Run[] = [];
  const server = await startNatsServer();
  try {
    const common = ["--data", dir, "--nats", server.url, "--nodes", "1", "--http-port", "0"];
    const run = dev(["--duration", "2", "--partitions", "2", ...common]);
    runs.push(run);
    await until("the cluster to come up", 20_000, () => run.stdout().includes("Bourse is up") || run.exited());
    assert.equal(pidRecords(dir).map((r) => r.role).sort(), ["node", "supervisor"], "no nats-server of ours");
    const r = await finished(run, 2_000 + RUN_MS_SLACK);
    assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.not.match(r.stdout, /starting nats-server/);
    assert.match(r.stdout, /cluster +2\/2 partitions owned, 1\/1 nodes ready/);
    assert.is((await outputEvents(server.port)).filter((e) => e.type === "market").length, 8, "the 8 demo markets, on the given server");

    const mismatch = dev(["--duration", "2", "--partitions", "4", ...common]);
    runs.push(mismatch);
    const m = await finished(mismatch, 15_000);
    assert.is(m.code, 1, m.stderr);
    assert.match(m.stderr, /created with 2 partitions; drop --partitions \(or pass --partitions 2\)/);
  } finally {
    cleanup(dir, runs);
    await server.dispose();
  }
});

test.run();
