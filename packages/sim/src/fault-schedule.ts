/**
 * The fault model: every engine node follows its own continuous-time Markov
 * chain, and so (with --nats-faults) does every NATS server.
 *
 *   node:  up ──λ·k──▶ crashed (kill -9) ──μ──▶ up
 *          up ──λ·p──▶ paused (SIGSTOP)  ──μ──▶ up (SIGCONT)
 *          up ──λ·g──▶ stopped (SIGTERM) ──μ──▶ up (started again)
 *   NATS:  up ──λn──▶ crashed (kill -9)  ──μ──▶ up (restarted on the same port and store)
 *
 * λ = 1/mtbf, μ = 1/mttr, k + p + g = 1 (the fault mix). Holding times are
 * exponential, drawn from a PRNG seeded by --seed, so one seed always gives one
 * schedule. A NATS fault that would take a second server down while another is
 * down is dropped: the simulation keeps the JetStream quorum (2 of 3), whose
 * loss is an outage by design, not a fault Bourse can mask.
 */
import { exponential, substream } from "./rng.js";

export type NodeFault = "kill" | "pause" | "restart";
export type FaultTarget = "node" | "nats";

export interface ScheduledFault {
  /** Milliseconds after the load starts. */
  at: number;
  target: FaultTarget;
  /** Index of the node or NATS server (0-based). */
  index: number;
  fault: NodeFault;
  /** How long the target stays down (crashed, paused or stopped) before it comes back. */
  downMs: number;
}

export interface FaultMix {
  kill: number;
  pause: number;
  restart: number;
}

export interface FaultModel {
  nodes: number;
  /** Mean time between faults of one node while it is up, in seconds (0 = no faults). */
  mtbfS: number;
  /** Mean time to repair (down time) in seconds. */
  mttrS: number;
  mix: FaultMix;
  /** NATS servers that fail (0 = no NATS faults). */
  natsServers: number;
  natsMtbfS: number;
}

export const DEFAULT_MIX: FaultMix = { kill: 0.5, pause: 0.25, restart: 0.25 };

/** The whole run's faults, ordered by time; a pure function of (seed, model, duration). */
export function faultSchedule(seed: number, model: FaultModel, durationMs: number): ScheduledFault[] {
  const out: ScheduledFault[] = [];
  if (model.mtbfS > 0) {
    for (let i = 0; i < model.nodes; i++) out.push(...chain(seed, `node-${i}`, "node", i, model.mtbfS, model.mttrS, model.mix, durationMs));
  }
  if (model.natsServers > 0 && model.natsMtbfS > 0) {
    const nats: ScheduledFault[] = [];
    for (let i = 0; i < model.natsServers; i++) nats.push(...chain(seed, `nats-${i}`, "nats", i, model.natsMtbfS, model.mttrS, { kill: 1, pause: 0, restart: 0 }, durationMs));
    nats.sort(byTime);
    let upAt = 0;
    for (const f of nats) {
      if (f.at < upAt) continue; // another server is still down: keep the quorum
      out.push(f);
      upAt = f.at + f.downMs;
    }
  }
  return out.sort(byTime);
}

function chain(seed: number, label: string, target: FaultTarget, index: number, mtbfS: number, mttrS: number, mix: FaultMix, durationMs: number): ScheduledFault[] {
  const r = substream(seed, label);
  const total = mix.kill + mix.pause + mix.restart;
  const faults: ScheduledFault[] = [];
  let t = 0;
  for (;;) {
    // Whole milliseconds throughout, so that rounding can never make a fault start before the last repair.
    const at = Math.ceil(t + exponential(r, mtbfS * 1000));
    if (at >= durationMs) return faults;
    const x = r() * total;
    const fault: NodeFault = x < mix.kill ? "kill" : x < mix.kill + mix.pause ? "pause" : "restart";
    const downMs = Math.round(exponential(r, mttrS * 1000));
    faults.push({ at, target, index, fault, downMs });
    t = at + downMs;
  }
}

function byTime(a: ScheduledFault, b: ScheduledFault): number {
  return a.at - b.at || (a.target < b.target ? -1 : a.target > b.target ? 1 : a.index - b.index);
}

/** The chain's steady state: the fraction of time one node is up. */
export function nodeUpFraction(model: Pick<FaultModel, "mtbfS" | "mttrS">): number {
  return model.mtbfS <= 0 ? 1 : model.mtbfS / (model.mtbfS + model.mttrS);
}

/**
 * The steady state of one partition's chain: up ──λ──▶ unavailable ──1/r──▶ up,
 * where λ = 1/mtbf is the fault rate of the node that owns it and r the mean
 * time a fault keeps a partition from serving (the measured mean recovery:
 * failover when the owner stays down, resumption when it comes back first).
 */
export function partitionAvailability(mtbfS: number, meanRecoveryMs: number): number {
  if (mtbfS <= 0) return 1;
  return 1 / (1 + meanRecoveryMs / (mtbfS * 1000));
}

/** "3 kills, 1 pause, 2 restarts, 1 NATS kill". */
export function describeFaultCounts(faults: readonly ScheduledFault[]): string {
  const n = (t: FaultTarget, f: NodeFault) => faults.filter((x) => x.target === t && x.fault === f).length;
  const parts = [`${n("node", "kill")} kills`, `${n("node", "pause")} pauses`, `${n("node", "restart")} restarts`];
  const nats = n("nats", "kill");
  if (nats > 0) parts.push(`${nats} NATS kills`);
  return parts.join(", ");
}
