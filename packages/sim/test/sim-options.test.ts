import { test } from "uvu";
import * as assert from "uvu/assert";
import { UsageError } from "@bourse/node/cli";
import { checkCombinations, faultMix, nonNegativeNumber, reproduceCommand, seedValue, simOptions, type SimFlags } from "../src/sim-options.js";
import { simConfig } from "../src/cli/sim-command.js";

function parse(argv: string[]): SimFlags {
  const values: Record<string, unknown> = {};
  for (const o of simOptions) {
    const i = argv.indexOf(`--${o.name}`);
    if (!("argument" in o)) values[o.name] = i >= 0;
    else {
      const raw = i >= 0 ? argv[i + 1]! : "default" in o ? String(o.default) : undefined;
      values[o.name] = raw === undefined ? undefined : "parse" in o ? o.parse(raw, `--${o.name}`) : raw;
    }
  }
  return values as SimFlags;
}

function throwsNaming(f: () => unknown, flag: string): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, flag);
    return;
  }
  assert.unreachable(`expected a UsageError naming ${flag}`);
}

test("bad values name their flag", () => {
  throwsNaming(() => faultMix("kill=x", "--fault-mix"), "--fault-mix");
  throwsNaming(() => faultMix("kill=0,pause=0", "--fault-mix"), "--fault-mix");
  throwsNaming(() => faultMix("explode=1", "--fault-mix"), "--fault-mix");
  throwsNaming(() => nonNegativeNumber(100)("-1", "--mtbf"), "--mtbf");
  throwsNaming(() => nonNegativeNumber(100)("101", "--mttr"), "--mttr");
  throwsNaming(() => seedValue("4294967296", "--seed"), "--seed");
  throwsNaming(() => parse(["--nats-cluster", "2"]), "--nats-cluster");
});

test("combinations that make no sense are refused with the flags named", () => {
  throwsNaming(() => checkCombinations(parse(["--nats-faults"])), "--nats-faults");
  throwsNaming(() => checkCombinations(parse(["--nats", "nats://x:1", "--nats-cluster", "3"])), "--nats");
  throwsNaming(() => checkCombinations(parse(["--rate", "2", "--publishers", "4"])), "--rate");
  checkCombinations(parse(["--nats-cluster", "3", "--nats-faults"]));
});

test("the reproduce command carries every flag that shapes the run, and parses back to the same config", () => {
  const o = parse(["--nodes", "4", "--mtbf", "2.5", "--fault-mix", "kill=1,pause=0,restart=0", "--test-no-fencing", "--commands", "5000"]);
  const cmd = reproduceCommand(o, 42);
  assert.match(cmd, "--seed 42");
  assert.match(cmd, "--nodes 4");
  assert.match(cmd, "--mtbf 2.5");
  assert.match(cmd, "--commands 5000");
  assert.match(cmd, "--test-no-fencing");
  const again = parse(cmd.replace("pnpm bourse sim ", "").split(" "));
  assert.equal(simConfig(again, 42), simConfig(o, 42));
});

test("broken-build flags turn on dev mode and the node's test switch", () => {
  const cfg = simConfig(parse(["--test-no-idempotency"]), 1);
  assert.ok(cfg.nodeArgs.includes("--dev"));
  assert.ok(cfg.nodeArgs.includes("--test-no-idempotency"));
  assert.not.ok(simConfig(parse([]), 1).nodeArgs.includes("--dev"));
});

test.run();
