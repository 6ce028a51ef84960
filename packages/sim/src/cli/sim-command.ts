/**
 * `bourse sim`: parses the flags, runs the simulation with a progress bar on
 * stderr, prints the report (or one JSON object with --json), and exits 0 only
 * if every invariant held. A run that could not be carried out (a process that
 * would not start) exits 1 with the reason, like a failed one.
 */
import { randomInt } from "node:crypto";
import { SingleBar } from "cli-progress";
import { exitCodes, leafCommand } from "@bourse/node/cli";
import { DEFAULT_MIX } from "../fault-schedule.js";
import { SimError } from "../errors.js";
import { renderReport } from "../render.js";
import { runSim, type SimConfig } from "../run-sim.js";
import { BROKEN_BUILD_FLAGS, checkCombinations, reproduceCommand, simOptions, type SimFlags } from "../sim-options.js";
import { summarize } from "../summary.js";

export const simCommand = leafCommand({
  name: "sim",
  summary: "Crash simulation: real nats-server and nodes, seeded faults, every invariant checked",
  options: simOptions,
  run: runSimCommand,
});

export function simConfig(o: SimFlags, seed: number): SimConfig {
  const nodeArgs = ["--snapshot-commands", String(o["snapshot-commands"])];
  const broken = BROKEN_BUILD_FLAGS.filter((f) => o[f]);
  if (broken.length > 0) nodeArgs.push("--dev", ...broken.map((f) => `--${f}`));
  return {
    seed,
    nodes: o.nodes,
    publishers: o.publishers,
    markets: o.markets,
    partitions: o.partitions,
    rate: o.rate,
    durationMs: (o.commands !== undefined ? Math.ceil(o.commands / o.rate) : o.duration) * 1000,
    commands: o.commands,
    model: {
      nodes: o.nodes,
      mtbfS: o.mtbf,
      mttrS: o.mttr,
      mix: o["fault-mix"] ?? DEFAULT_MIX,
      natsServers: o["nats-faults"] ? o["nats-cluster"] : 0,
      natsMtbfS: o["nats-mtbf"],
    },
    natsServers: o["nats-cluster"],
    natsUrl: o.nats,
    nodeArgs,
    drainMsTimeout: o["drain-timeout"] * 1000,
    keep: o.keep,
  };
}

async function runSimCommand(o: SimFlags): Promise<number> {
  checkCombinations(o);
  const seed = o.seed ?? randomInt(0, 2 ** 31);
  const cfg = simConfig(o, seed);
  const reproduce = reproduceCommand(o, seed);
  const bar = o["no-progress"]
    ? undefined
    : new SingleBar({
        format: "sim seed {seed} [{bar}] {elapsed}/{total_s}s | {acked} acked | {faults} faults | {up}/{nodes} nodes up",
        stream: process.stderr,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 5_000,
        barsize: 24,
      });
  const totalS = Math.round(cfg.durationMs / 1000);
  bar?.start(totalS, 0, { seed, elapsed: 0, total_s: totalS, acked: 0, faults: 0, up: cfg.nodes, nodes: cfg.nodes });
  let outcome;
  try {
    outcome = await runSim(cfg, (p) => {
      const s = Math.min(totalS, Math.floor(p.elapsedMs / 1000));
      bar?.update(s, { elapsed: s, acked: p.acked, faults: p.faults, up: p.up });
    });
  } catch (e) {
    bar?.stop();
    if (!(e instanceof SimError)) throw e;
    process.stderr.write(`bourse sim: could not run (${e.code}): ${e.message}\nReproduce: ${reproduce}\n`);
    return exitCodes.failed;
  }
  bar?.update(totalS, { elapsed: totalS });
  bar?.stop();
  const summary = summarize(outcome, reproduce);
  process.stdout.write(o.json ? JSON.stringify(summary) + "\n" : renderReport(summary, outcome));
  if (!summary.passed && o.json) process.stderr.write(`bourse sim: ${summary.invariant_violations} violations; reproduce with: ${reproduce}\n`);
  return summary.passed ? exitCodes.ok : exitCodes.failed;
}
