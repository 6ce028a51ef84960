/**
 * `bourse bench e2e`: Bourse end to end against the raw JetStream limit of the
 * same server in the same run, and the latency at half the maximum
 * (./run-bench.ts has the method). Progress goes to stderr; the table, or with
 * --json one JSON object, to stdout.
 *
 * Exit codes: 0 the run completed (targets are shown, never asserted); 1 it
 * could not (a process failed to start or died, no rate kept up, reports went
 * missing, the engine rejected commands); 2 bad flags.
 */
import { exitCodes, leafCommand } from "../../cli/options.js";
import { benchE2eOptions, type BenchE2eOptions } from "./options.js";
import { renderE2e } from "./render.js";
import { runBenchE2e } from "./run-bench.js";

export const benchE2e = leafCommand({
  name: "e2e",
  summary: "Bourse end to end (publishers → 3 nodes → durable output → reports) against the raw JetStream publish limit, and latency at half the maximum",
  options: benchE2eOptions,
  run: runE2e,
});

async function runE2e(o: BenchE2eOptions): Promise<number> {
  const progress = (line: string): void => {
    process.stderr.write(`bench e2e: ${line}\n`);
  };
  try {
    const r = await runBenchE2e(o, progress);
    process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : renderE2e(r));
    return r.ok ? exitCodes.ok : exitCodes.failed;
  } catch (e) {
    process.stderr.write(`bourse bench e2e: ${clip(e instanceof Error ? e.message : String(e))}\n`);
    return exitCodes.failed;
  }
}

/** A failure that carries a node's whole log keeps its first and last lines. */
function clip(message: string, head = 3, tail = 15): string {
  const lines = message.split("\n");
  if (lines.length <= head + tail + 1) return message;
  return [...lines.slice(0, head), `… (${lines.length - head - tail} lines left out)`, ...lines.slice(-tail)].join("\n");
}
