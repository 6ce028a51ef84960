/**
 * `bourse bench replay`, run tiny: it starts and stops its own nats-server, fills
 * a small log, recovers it with the node's partition loop, and prints one JSON
 * object with the documented fields. Not a timed test: figures are only checked
 * to be present and sane.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runBourse } from "./support/cli.js";

const bourse = (...args: string[]) => runBourse(args);

test("bench replay --json: one object with the replay and raw rates, every command replayed", async () => {
  const r = await bourse("bench", "replay", "--commands", "3000", "--snapshot-at", "1500", "--markets", "3", "--json");
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines.length, 1, r.stdout);
  const j = JSON.parse(lines[0]!) as Record<string, unknown>;
  for (const k of ["replay_cmds_per_s", "raw_consume_msgs_per_s", "ratio", "payload_bytes_avg", "snapshot_bytes", "snapshot_load_ms", "recovery_ms", "replay_no_snapshots_cmds_per_s"]) {
    assert.type(j[k], "number", k);
    assert.ok((j[k] as number) > 0, `${k} = ${String(j[k])}`);
  }
  assert.is(j["commands"], 3000);
  assert.is(j["snapshot_at"], 1500);
  assert.is(j["replayed_commands"], 1500);
  assert.equal(j["problems"], []);
  assert.ok(Math.abs((j["ratio"] as number) - (j["replay_cmds_per_s"] as number) / (j["raw_consume_msgs_per_s"] as number)) < 0.01);
  assert.match(r.stderr, /bench replay: raw ordered consumer/);
  const cpu = [...(j["raw_rounds_cpu"] as Record<string, number>[]), j["replay_cpu"] as Record<string, number>];
  assert.is(cpu.length, 3, "each raw round's CPU, and the replay's");
  for (const c of cpu) for (const k of ["nats-server", "bench"]) assert.ok(typeof c[k] === "number" && c[k] >= 0, `cpu ${k} = ${String(c[k])}`);
});

test("bench replay: a snapshot point outside the log is a usage error (exit 2, one line)", async () => {
  const r = await bourse("bench", "replay", "--commands", "1000", "--snapshot-at", "1000");
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /^bourse: --snapshot-at must fall/);
  assert.is(r.stdout, "");
});

test.run();
