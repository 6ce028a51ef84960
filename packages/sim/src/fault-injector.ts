/**
 * Carries out a fault schedule against the running cluster, on time: kill -9,
 * SIGSTOP, SIGTERM for nodes; kill -9 for NATS servers; then, after each
 * fault's down time, the repair (start again, SIGCONT). Faults of one target
 * run one after another: a fault due while its target is still being repaired
 * waits for the repair. Records when each fault and repair actually happened
 * and which partitions the node served at the moment of the fault.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ScheduledFault } from "./fault-schedule.js";
import type { SimCluster } from "./sim-cluster.js";

const NATS_RESTART_ATTEMPTS = 3;

export interface FaultRecord {
  fault: ScheduledFault;
  /** "sim-node-2" or "nats-1". */
  target: string;
  /** Epoch ms when the signal was sent. */
  at: number;
  /** Epoch ms when the repair was done (started again, resumed), or undefined if it failed. */
  repairedAt: number | undefined;
  /** Partitions the node served when the fault hit (nodes only). */
  partitions: number[];
  error?: string;
}

export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly chains = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly cluster: SimCluster,
    private readonly onFault: (r: FaultRecord) => void = () => {},
  ) {}

  /** Arms every fault relative to `start` (epoch ms). */
  arm(schedule: readonly ScheduledFault[], start: number): void {
    for (const f of schedule) {
      const key = `${f.target}-${f.index}`;
      const t = setTimeout(() => {
        const prev = this.chains.get(key) ?? Promise.resolve();
        this.chains.set(key, prev.then(() => (this.stopped ? undefined : this.inject(f))));
      }, Math.max(0, start + f.at - Date.now()));
      this.timers.push(t);
    }
  }

  /** No new fault starts; faults in progress finish their repair. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(this.chains.values());
  }

  get injected(): number {
    return this.records.length;
  }

  private async inject(f: ScheduledFault): Promise<void> {
    const c = this.cluster;
    const target = f.target === "node" ? c.nodes[f.index]!.id : `nats-${f.index + 1}`;
    const rec: FaultRecord = { fault: f, target, at: Date.now(), repairedAt: undefined, partitions: [] };
    this.records.push(rec);
    try {
      if (f.target === "nats") {
        const server = c.nats[f.index]!;
        server.kill("SIGKILL");
        this.onFault(rec);
        await sleep(f.downMs);
        // Like a process supervisor: a server that fails to come back is started again.
        for (let attempt = 1; ; attempt++) {
          try {
            await server.restart();
            break;
          } catch (e) {
            if (attempt >= NATS_RESTART_ATTEMPTS) throw e;
          }
        }
      } else {
        rec.partitions = c.partitionsOf(target);
        rec.at = Date.now();
        if (f.fault === "kill") c.kill(f.index);
        else if (f.fault === "pause") c.pause(f.index);
        else await c.terminate(f.index);
        this.onFault(rec);
        await sleep(f.downMs);
        if (f.fault === "pause") c.resume(f.index);
        else await c.startNode(f.index);
      }
      rec.repairedAt = Date.now();
    } catch (e) {
      rec.error = e instanceof Error ? e.message : String(e);
    }
  }
}
