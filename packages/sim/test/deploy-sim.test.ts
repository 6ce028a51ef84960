/**
 * Issue 5's end-to-end check of the production NATS configuration: the 3-server
 * cluster of deploy/nats (its accounts, permissions and mapping; ports and dirs
 * rewritten), real nodes authenticated as the `node` user under its permissions,
 * a short simulation whose schedule kills one NATS server mid-run and restarts it
 * 3 s later. Every invariant must hold.
 */
import { rmSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startDeployCluster } from "@bourse/node/local";
import { DEFAULT_MIX } from "../src/fault-schedule.js";
import { runSim } from "../src/run-sim.js";
import { listViolations } from "../src/summary.js";

test("a simulation on the deploy/nats cluster survives a NATS server killed and restarted mid-run", async () => {
  const dc = await startDeployCluster();
  let workDir: string | undefined;
  try {
    const nodes = 3;
    const outcome = await runSim({
      seed: 55, nodes, publishers: 2, markets: 8, partitions: dc.partitions, rate: 200,
      durationMs: 15_000, commands: undefined,
      model: { nodes, mtbfS: 0, mttrS: 3, mix: DEFAULT_MIX, natsServers: 3, natsMtbfS: 0 },
      schedule: [{ at: 5_000, target: "nats", index: 1, fault: "kill", downMs: 3_000 }],
      natsServers: 3, natsUrl: undefined,
      external: { url: dc.urls, servers: dc.servers, nodeAuth: dc.credentials.node, clientAuth: dc.credentials.admin },
      nodeArgs: ["--snapshot-commands", "300"], drainMsTimeout: 60_000, keep: false,
    });
    workDir = outcome.workDir;
    assert.equal(listViolations(outcome.violations), [], `node logs: ${outcome.workDir}`);
    assert.is(outcome.faults.length, 1);
    assert.is(outcome.faults[0]!.target, "nats-2");
    assert.ok(outcome.faults[0]!.repairedAt !== undefined, `restart failed: ${outcome.faults[0]!.error}`);
    // Open loop at 200/s for 15 s; a loaded machine drops slots, so only a floor is asserted.
    assert.ok(outcome.acked > 1_000, `acked ${outcome.acked}`);
    assert.is(outcome.unacked, 0);
  } finally {
    await dc.dispose();
    // A failed run keeps its node logs; removed unless asked to keep them for a post-mortem.
    if (workDir !== undefined && process.env["BOURSE_KEEP_SIM_LOGS"] === undefined) rmSync(workDir, { recursive: true, force: true });
  }
});

test.run();
