/**
 * A whole `bourse bench failover` run: cluster, load, `trials` kill -9 trials, then
 * `trials` SIGTERM trials, and the figures. Every process and temp dir it started is
 * stopped and removed when it ends, failed or not (and by the reaper on exit).
 */
import { cpus, loadavg, totalmem, type as osType, release } from "node:os";
import { BenchCluster } from "./bench-cluster.js";
import { loadOrders } from "./load.js";
import { FAILOVER_METHOD as M, type BenchFailoverOptions } from "./options.js";
import { Prober } from "./probe.js";
import { toJson, type FailoverJson } from "./results.js";
import { runTrial, type TrialKind, type TrialResult } from "./trial.js";

export async function runFailoverBench(o: BenchFailoverOptions, progress: (s: string) => void): Promise<FailoverJson> {
  const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
  progress(`load average ${loadBefore.join(" ")} (${cpus().length} cores)`);
  const c = await BenchCluster.start(o.nodes, o.partitions, progress);
  try {
    const load = await loadOrders(c, o.orders, progress);
    const prober = new Prober(c.nc, c.js, c.jsm);
    await prober.open();
    const trials: TrialResult[] = [];
    try {
      for (const kind of ["failover", "handoff"] as const satisfies readonly TrialKind[]) {
        for (let i = 0; i < o.trials; i++) {
          const t = await runTrial(c, prober, load.marketsByPartition, kind, i);
          trials.push(t);
          progress(describe(t, i, o.trials));
        }
      }
    } finally {
      prober.close();
    }
    return toJson(
      {
        nodes: o.nodes,
        partitions: o.partitions,
        markets: load.markets,
        ordersLoaded: load.ordersSent,
        ordersResident: load.ordersResident,
        loadMs: load.loadMs,
        loadPublishesPerS: load.publishesPerS,
        heartbeatMs: M.heartbeatMs,
        failureMsTimeout: M.failureMsTimeout,
        recoveryMsP99Target: M.recoveryMsP99Target,
        handoffMsP99Target: M.handoffMsP99Target,
        machine: {
          cpu: cpus()[0]?.model ?? "unknown",
          cores: cpus().length,
          memory_gb: Math.round(totalmem() / 1e8) / 10,
          os: `${osType()} ${release()}`,
          node: process.version,
          nats_server: c.nc.info?.version ?? "unknown",
          // Other work on the machine slows every phase down: the 1/5/15-minute load averages before and after.
          load_avg_before: loadBefore,
          load_avg_after: loadavg().map((x) => Math.round(x * 100) / 100),
        },
      },
      trials,
    );
  } finally {
    progress("stopping the cluster");
    await c.dispose();
  }
}

function describe(t: TrialResult, i: number, n: number): string {
  const served = t.moved.map((m) => m.servedMs).filter((v): v is number => v !== null);
  const max = served.length > 0 ? Math.round(Math.max(...served)) : NaN;
  const median = served.length > 0 ? Math.round([...served].sort((a, b) => a - b)[Math.floor((served.length - 1) / 2)]!) : NaN;
  const waits = t.moved.map((m) => m.waitMs).filter((v): v is number => v !== null);
  const waitMax = waits.length > 0 ? Math.round(Math.max(...waits)) : NaN;
  const detection = t.moved.map((m) => m.breakdown.detectionMs).filter((v): v is number => v !== null);
  const what = t.kind === "failover" ? "kill -9" : "SIGTERM";
  const extra = t.unrecovered.length > 0 ? `; UNRECOVERED ${t.unrecovered.join(",")}` : "";
  return `${t.kind} ${i + 1}/${n}: ${what} ${t.victim}, ${t.moved.length} partitions moved; new owner served p50 ${median} ms, max ${max} ms; longest wait of a command ${waitMax} ms; detection ≤ ${detection.length ? Math.max(...detection) : "-"} ms; CAS lost ${t.casLost}${t.victimStopMs !== null ? `; node stop ${t.victimStopMs} ms` : ""}; rebalanced in ${t.rebalanceMs} ms${extra}`;
}
