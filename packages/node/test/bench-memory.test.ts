/**
 * `bourse bench memory`, run tiny: a real node with a few resting orders, then
 * the engine process with a small book and a few thousand orders through it;
 * one JSON object with the documented fields. Not a timed test: figures are
 * only checked to be present and sane.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runBourse } from "./support/cli.js";

const bourse = (...args: string[]) => runBourse(args);

test("bench memory --json: resting and after-N figures, the bounds reached, the node measured", async () => {
  const r = await bourse("bench", "memory", "--orders", "30000", "--resting", "2000", "--node-orders", "500", "--snapshot-commands", "5000", "--json");
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines.length, 1, r.stdout);
  const j = JSON.parse(lines[0]!) as Record<string, unknown>;
  for (const k of ["rss_mb_1m_resting", "rss_mb_after_10m", "heap_mb_1m_resting", "heap_mb_after_10m", "ratio_rss_after_10m_vs_1m", "ratio_heap_after_10m_vs_1m", "peak_rss_mb"]) {
    assert.type(j[k], "number", k);
    assert.ok((j[k] as number) > 0, `${k} = ${String(j[k])}`);
  }
  assert.is(j["resting"], 2000);
  assert.is(j["orders"], 30000);
  const points = j["points"] as { orders: number; resting: number; terminal: number; idempotency_finished: number }[];
  const last = points[points.length - 1]!;
  assert.is(last.orders, 30000);
  assert.is(last.resting, 2000, "the book keeps --resting orders while orders pass through");
  const o = j["engine_options"] as { terminalOrdersMax: number; idempotencyMax: number };
  assert.is(last.terminal, o.terminalOrdersMax, "terminal orders reach their bound");
  assert.ok(last.idempotency_finished > 0);
  const node = j["node"] as Record<string, number>;
  assert.is(node["orders"], 500);
  assert.ok(node["rss_mb_idle"]! > 0 && node["rss_mb_loaded"]! > 0);
  assert.type(node["overhead_rss_mb"], "number");
  assert.ok(node["loop_delay_ms_max_loading"]! > 0, "the node's event-loop delay while loading is measured");
  assert.is(j["rollback_spill_bytes"], 1024 * 1024);
  assert.ok(points.every((p) => ["bytes", "image", "spilled"].includes((p as { rollback_point?: string }).rollback_point ?? "")));
});

test("bench memory: a bad --rollback-spill-bytes is a usage error naming the flag", async () => {
  const r = await bourse("bench", "memory", "--rollback-spill-bytes", "1.5");
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /^bourse: --rollback-spill-bytes must be an integer >= 0, got "1.5"/);
});

test("bench memory: --resting above --orders is a usage error (exit 2, one line)", async () => {
  const r = await bourse("bench", "memory", "--orders", "10", "--resting", "20");
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /^bourse: --resting \(20\) must not exceed --orders \(10\)/);
  assert.is(r.stdout, "");
});

test.run();
