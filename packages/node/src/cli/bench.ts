/**
 * `bourse bench match`: runs the engine benchmark script shipped by
 * @bourse/engine (bench/match.ts) in a child Node process, passing the checked
 * flags through and forwarding its output and exit code unchanged. The script
 * forks one more process per workload, so the CLI's own memory never counts.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { benchMatchOptions, exitCodes, leafCommand, type Command, type Parsed } from "./options.js";
import { benchFailover } from "../bench/failover/command.js";
import { benchE2e } from "../bench/e2e/command.js";
import { benchReplay } from "../bench/replay/command.js";
import { benchMemory } from "../bench/memory/command.js";

export const benchMatch = leafCommand({
  name: "match",
  summary: "Compare Bourse's matching engine with nodejs-order-book on the same seeded operations",
  options: benchMatchOptions,
  run: runBenchMatch,
});

export const bench: Command = {
  name: "bench",
  summary: "Benchmarks",
  subcommands: [benchMatch, benchFailover, benchE2e, benchReplay, benchMemory],
};

async function runBenchMatch(o: Parsed<typeof benchMatchOptions>): Promise<number> {
  const script = benchScript();
  if (script === null) return exitCodes.failed;
  const args = [script, "--ops", String(o.ops), "--rounds", String(o.rounds), "--workload", o.workload.join(",")];
  if (o.json) args.push("--json");
  return forward(process.execPath, args);
}

/** The built script's path, or null (with the reason on stderr) when it is missing. */
function benchScript(): string | null {
  let path: string;
  try {
    path = fileURLToPath(import.meta.resolve("@bourse/engine/bench/match"));
  } catch (e) {
    process.stderr.write(`bourse: cannot resolve @bourse/engine/bench/match: ${(e as Error).message}\n`);
    return null;
  }
  if (existsSync(path)) return path;
  process.stderr.write(`bourse: ${path} is missing; build first with 'pnpm run build'\n`);
  return null;
}

/** Runs the child with our stdio; resolves with its exit code (128 + n if killed by signal n). */
function forward(command: string, args: readonly string[]): Promise<number> {
  // Ctrl-C reaches the child through the terminal's process group; we wait for its exit code.
  const ignore = (): void => {};
  process.on("SIGINT", ignore);
  return new Promise<number>((resolve) => {
    const child = spawn(command, args, { stdio: "inherit" });
    child.on("error", (e) => {
      process.stderr.write(`bourse: cannot start ${command}: ${e.message}\n`);
      resolve(exitCodes.failed);
    });
    child.on("exit", (code, signal) => {
      if (code !== null) resolve(code);
      else resolve(128 + (signal !== null ? (constants.signals[signal] ?? 0) : 0));
    });
  }).finally(() => process.off("SIGINT", ignore));
}
