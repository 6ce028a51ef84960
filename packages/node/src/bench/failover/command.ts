/**
 * `bourse bench failover [--trials T] [--json]`: how long the partitions of a node
 * that dies (kill -9) or stops (SIGTERM) are out of service, measured from outside
 * on a real cluster holding live orders (./run.ts). Progress on stderr; the report
 * or one JSON object on stdout. Exit 0 when every moved partition served again,
 * 1 when one did not or the run failed, 2 on a bad command line.
 */
import { exitCodes, leafCommand } from "../../cli/options.js";
import { benchFailoverOptions, type BenchFailoverOptions } from "./options.js";
import { renderReport } from "./render.js";
import { runFailoverBench } from "./run.js";

export const benchFailover = leafCommand({
  name: "failover",
  summary: "Failover and handoff times of a real cluster holding live orders: kill -9 and SIGTERM of a node, measured from outside",
  options: benchFailoverOptions,
  run: runBenchFailover,
});

async function runBenchFailover(o: BenchFailoverOptions): Promise<number> {
  const progress = (s: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${s}\n`);
  try {
    const r = await runFailoverBench(o, progress);
    process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : renderReport(r));
    return r.failover.unrecovered + r.handoff.unrecovered === 0 ? exitCodes.ok : exitCodes.failed;
  } catch (e) {
    process.stderr.write(`bourse bench failover: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return exitCodes.failed;
  }
}
