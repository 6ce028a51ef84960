/**
 * `bourse bench memory`: RSS and heap, after a forced GC, of one partition with
 * --resting orders resting, and after --orders orders have passed through it
 * (placed, then filled or cancelled), so the terminal-order and idempotency
 * bounds are reached.
 *
 *   1. a real `bourse node` process (node-probe.ts) with --node-orders resting
 *      orders through NATS: what the node adds around its engine;
 *   2. the engine process (engine-child.ts, forked with --expose-gc): the
 *      --resting / --orders figures. Not through a real node: on the 2-core
 *      development machine a node took in 100,000 orders at ~7,000/s, and with
 *      1,000,000 resting each of its snapshots (every 10,000 commands) encodes
 *      for 5-8 s, so the 13,000,000 commands of 10,000,000 orders would take
 *      hours; hence the split, and the node's share measured at --node-orders.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { exitCodes, leafCommand, type Parsed } from "../../cli/options.js";
import { defaultNodeConfig } from "../../config.js";
import { trackChild, untrackChild } from "../../local/reaper.js";
import { describeMachine } from "../common/machine.js";
import { progress } from "../common/progress.js";
import type { ChildConfig, ChildResult } from "./engine-child.js";
import { probeNode, type NodeProbeResult } from "./node-probe.js";
import { benchMemoryOptions, checkMemoryOptions } from "./options.js";
import { buildReport, renderReport } from "./report.js";
import { NODE_V8_FLAGS } from "../../v8-flags.js";

export const benchMemory = leafCommand({
  name: "memory",
  summary: "RSS and heap of a partition with 1M resting orders and after 10M orders passed through; and of a real node around it",
  options: benchMemoryOptions,
  run: runBenchMemory,
});

const CHILD = fileURLToPath(new URL("./engine-child.js", import.meta.url));

async function runBenchMemory(o: Parsed<typeof benchMemoryOptions>): Promise<number> {
  checkMemoryOptions(o);
  const machine = describeMachine();
  try {
    let node: NodeProbeResult | null = null;
    if (o["node-orders"] > 0) {
      progress("memory", `[node] starting a nats-server and one bourse node; ${o["node-orders"]} resting orders through NATS`);
      node = await probeNode({ orders: o["node-orders"], seed: o.seed, accounts: o.accounts });
    }
    const config: ChildConfig = {
      orders: o.orders, resting: o.resting, nodeOrders: o["node-orders"], snapshotCommands: o["snapshot-commands"],
      rollbackSpillBytes: o["rollback-spill-bytes"], accounts: o.accounts, seed: o.seed, partitions: defaultNodeConfig.partitions,
    };
    progress("memory", `[engine] forking the engine process (node ${["--expose-gc", ...NODE_V8_FLAGS].join(" ")}, as a node runs): ${o.resting} resting, ${o.orders} orders through`);
    const child = await runChild(config);
    const report = buildReport({ child, node, resting: o.resting, orders: o.orders, accounts: o.accounts, seed: o.seed, snapshotCommands: o["snapshot-commands"], rollbackSpillBytes: o["rollback-spill-bytes"], machine });
    process.stdout.write(o.json ? JSON.stringify(report) + "\n" : renderReport(report));
    return exitCodes.ok;
  } catch (e) {
    process.stderr.write(`bench memory: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return exitCodes.failed;
  }
}

/** Forks the engine process (its stdout goes to our stderr) and waits for its one result message. */
function runChild(config: ChildConfig): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(config)], { execArgv: ["--expose-gc", ...NODE_V8_FLAGS], stdio: ["ignore", 2, 2, "ipc"] });
    trackChild(child);
    let outcome: { result?: ChildResult; error?: string } | undefined;
    child.on("message", (m) => (outcome = m as typeof outcome));
    child.on("error", (e) => reject(e));
    child.on("exit", (code, signal) => {
      untrackChild(child);
      if (outcome?.result) resolve(outcome.result);
      else reject(new Error(`the engine process ${outcome?.error ? `failed: ${outcome.error}` : `exited (${signal ?? code}) without a result`}`));
    });
  });
}
