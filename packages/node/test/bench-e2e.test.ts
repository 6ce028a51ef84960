/**
 * `bourse bench e2e` as an operator runs it, shrunk to seconds: a real
 * nats-server and 3 real nodes, every phase with --duration 1, a tiny window,
 * and the profiler on. A smoke test of the plumbing: the JSON holds every
 * figure and parameter, positive, and the profile was written and read. The
 * figures themselves are not checked (timed results belong to the benchmark).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));

function bourse(timeoutMs: number, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

test("bad flags: exit 2, one line naming the flag, nothing started", async () => {
  const r = await bourse(10_000, "bench", "e2e", "--duration", "0");
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /--duration/);
  assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.is(r.stdout, "");
});

test("--latency-curve and --profile-at take fractions of the maximum in (0, 1]: exit 2 naming the flag otherwise", async () => {
  for (const [flag, bad] of [["--latency-curve", "0"], ["--latency-curve", "1.5"], ["--latency-curve", "0.25,x"], ["--profile-at", "0"], ["--profile-at", "0.5,0.25"], ["--profile-at", ""]] as const) {
    const r = await bourse(10_000, "bench", "e2e", flag, bad);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(flag));
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test("a run of a few seconds prints one JSON object with every figure and parameter, positive", async () => {
  const profileDir = mkdtempSync(join(tmpdir(), "bourse-bench-e2e-test-"));
  try {
    const r = await bourse(
      240_000,
      "bench", "e2e", "--duration", "1", "--partitions", "4", "--markets", "4", "--publishers", "2", "--window", "16", "--profile", profileDir, "--profile-at", "0.5", "--latency-curve", "0.25", "--json",
    );
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.is(lines.length, 1, "one JSON object on one line");
    const j = JSON.parse(lines[0]!) as Record<string, unknown>;
    for (const k of [
      "raw_js_msgs_per_s", "bourse_cmds_per_s", "ratio", "latency_ms_p50", "latency_ms_p99", "latency_ms_p999",
      "payload_bytes", "window", "publishers", "partitions", "duration_s", "max_rate_per_s", "latency_commands",
    ]) {
      assert.type(j[k], "number", k);
      assert.ok((j[k] as number) > 0, `${k} = ${String(j[k])}`);
    }
    assert.is(j["window"], 16);
    assert.is(j["publishers"], 2);
    assert.is(j["partitions"], 4);
    assert.is(j["duration_s"], 1);
    assert.match(String(j["server_version"]), /^\d+\.\d+\.\d+/);
    const n = (k: string): number => j[k] as number;
    assert.ok(n("latency_ms_p50") <= n("latency_ms_p99") && n("latency_ms_p99") <= n("latency_ms_p999"), "percentiles in order");
    assert.ok(Array.isArray(j["steps"]) && (j["steps"] as unknown[]).length >= 2, "the probe and at least one rate step");
    const curve = j["latency_curve"] as { fraction: number; rate_per_s: number; p99_ms: number; commands: number }[];
    assert.equal(curve.map((c) => c.fraction), [0.5, 0.25], "half the maximum, then each --latency-curve fraction");
    assert.is(curve[0]!.p99_ms, n("latency_ms_p99"), "the headline latency is the curve's half-maximum point");
    assert.ok(curve[1]!.rate_per_s <= curve[0]!.rate_per_s && curve[1]!.commands > 0);
    const profile = j["profile"] as { profiles: number; functions: unknown[]; files: string[]; step: { targetPerS: number } } | undefined;
    assert.ok(profile !== undefined, "--profile adds the profile summary");
    assert.is(profile.step.targetPerS, Math.max(1, Math.round(n("max_rate_per_s") * 0.5)), "--profile-at 0.5: the profiled step runs at half the maximum");
    assert.is(profile.profiles, 3, "one profile per node");
    assert.ok(profile.functions.length > 0);
    for (const f of profile.files) assert.ok(existsSync(f), f);
    assert.ok(Array.isArray(j["warnings"]), "warnings listed (a busy machine adds some)");
    assert.is(j["ok"], true, "no sanity check failed (the engine rejected nothing)");
    assert.match(r.stderr, /stopping nodes and nats-server/);
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
});

function childPids(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").map((l) => Number(l.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("Ctrl-C in the middle of a run: every node, the nats-server and their temp dirs are gone", async () => {
  const child = spawn(process.execPath, [BIN, "bench", "e2e", "--duration", "5", "--partitions", "4", "--markets", "4"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no closed-loop probe within 60 s:\n${stderr}`)), 60_000);
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes("closed-loop probe")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const pids = childPids(child.pid!);
  assert.ok(pids.length >= 4, `nats-server and 3 nodes are children: ${pids.join(", ")}`);
  // The nats-server's store dir, from its command line (-sd DIR).
  const dirs = pids.flatMap((pid) => {
    const argv = (() => { try { return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"); } catch { return []; } })();
    const i = argv.indexOf("-sd");
    return i >= 0 ? [argv[i + 1]!] : [];
  });
  assert.is(dirs.length, 1, "one nats-server store");
  child.kill("SIGINT");
  const how = await exited;
  assert.ok(how === "SIGINT" || how === 130, `ended by the signal (${String(how)})`);
  for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(pids.filter(alive), [], "no process left");
  for (const d of dirs) assert.not.ok(existsSync(d), `${d} removed`);
});

test.run();
