/**
 * A checker that has never failed proves nothing: each run starts the nodes
 * with one guarantee switched off and asserts that the simulation fails, with
 * the violation that guarantee prevents, and prints how to reproduce it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kinds, runSimCli } from "./support.js";

test("without idempotency, a repeated cmdId takes effect twice: invariant 1 fails", async () => {
  const { code, summary: s } = await runSimCli(["--duration", "8", "--seed", "5", "--mtbf", "0", "--test-no-idempotency"]);
  assert.is(code, 1);
  assert.not.ok(s.passed);
  assert.ok(kinds(s).includes("1_applied_twice"), kinds(s).join(","));
  assert.match(s.reproduce, "--test-no-idempotency");
  assert.match(s.violations[0] ?? "", /cmd sim-/);
});

test("without output suppression, a takeover republishes durable output: invariant 5 (and 2) fail", async () => {
  const { code, summary: s } = await runSimCli(["--duration", "12", "--seed", "18", "--mtbf", "6", "--mttr", "2", "--fault-mix", "kill=1,pause=0,restart=0", "--test-no-suppression"]);
  assert.is(code, 1);
  assert.ok(s.failovers > 0);
  assert.ok(kinds(s).includes("5_output_sequence"), kinds(s).join(","));
});

test("without output fencing, a paused owner that wakes up writes over its successor: invariant 5 fails", async () => {
  const { code, summary: s } = await runSimCli(["--duration", "12", "--seed", "16", "--mtbf", "4", "--mttr", "3", "--fault-mix", "kill=0,pause=1,restart=0", "--rate", "1000", "--test-no-fencing"]);
  assert.is(code, 1);
  assert.ok(kinds(s).includes("5_output_sequence"), kinds(s).join(","));
});

test.run();
