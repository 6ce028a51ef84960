/**
 * Partition ownership as a table, derived deterministically from the previous
 * table and the live members (docs/adr/0002-partition-assignment.md).
 *
 * Why not a pure function of (members, P): a function that moves only a departed
 * node's partitions is a per-partition preference order (rendezvous hashing), and
 * no preference order bounds the load for every member set. Carrying the previous
 * table lets us have both: minimal movement and max load ≤ ⌈P/N⌉.
 *
 * Every node computes the same table from the same inputs: members are sorted and
 * deduplicated, ties are broken by rendezvous (HRW) scores and then by member id
 * or partition index, never by iteration order of a Map or by randomness.
 */
import { assertPartitionCount, fnv1a32 } from "./partitioning.js";

/** Owner member id per partition; length P. */
export type Assignment = readonly string[];

export type AssignmentErrorCode = "no_members" | "invalid_member" | "invalid_epsilon" | "invariant_broken";

export class AssignmentError extends Error {
  override readonly name = "AssignmentError";
  constructor(
    readonly code: AssignmentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Rendezvous score of `member` for `partition`:
 *   fmix32(fnv1a32(utf8(member + "/" + decimal(partition))))
 * FNV-1a alone mixes its last bytes poorly (here: the partition digits), so the
 * murmur3 finalizer spreads them over all 32 bits.
 */
export function hrwScore(member: string, partition: number): number {
  return scoreWithPrefix(fnv1a32(`${member}/`), partition);
}

function scoreWithPrefix(prefixHash: number, partition: number): number {
  return fmix32(fnv1a32(String(partition), prefixHash));
}

function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** ⌈(1+ε)·P/N⌉. The tables built here always meet ε = 0, hence any ε ≥ 0. */
export function loadCap(members: number, partitions: number, epsilon = 0): number {
  if (!Number.isInteger(members) || members < 1) {
    throw new AssignmentError("no_members", `member count must be a positive integer, got ${members}`);
  }
  assertPartitionCount(partitions);
  if (!Number.isFinite(epsilon) || epsilon < 0) {
    throw new AssignmentError("invalid_epsilon", `epsilon must be finite and >= 0, got ${epsilon}`);
  }
  // Integer arithmetic for ε = 0: the bound the tables are checked against must not wobble with rounding.
  if (epsilon === 0) return Math.floor((partitions + members - 1) / members);
  return Math.ceil(((1 + epsilon) * partitions) / members);
}

/** Partitions whose owner differs between a and b (an index missing on one side counts as changed). */
export function diff(a: Assignment, b: Assignment): number[] {
  const changed: number[] = [];
  const n = Math.max(a.length, b.length);
  for (let p = 0; p < n; p++) if (a[p] !== b[p]) changed.push(p);
  return changed;
}

/** Partitions owned by member, ascending. */
export function partitionsOf(assignment: Assignment, member: string): number[] {
  const owned: number[] = [];
  assignment.forEach((owner, p) => {
    if (owner === member) owned.push(p);
  });
  return owned;
}

/** Load per member, in sorted member order; members owning nothing have 0. */
export function loadsOf(assignment: Assignment, members: readonly string[]): Map<string, number> {
  const loads = new Map<string, number>(normalizeMembers(members).map((m) => [m, 0]));
  for (const owner of assignment) {
    const l = loads.get(owner);
    if (l !== undefined) loads.set(owner, l + 1);
  }
  return loads;
}

/**
 * Fresh table: HRW preference with bounded loads. Every (member, partition) pair
 * is taken in descending score order and granted while the partition is free and
 * the member is under its quota; quotas are ⌊P/N⌋, and P mod N members may take
 * one more. Each partition thus goes to the best-scoring member that has room,
 * and loads differ by at most one.
 */
export function initialAssignment(members: readonly string[], partitions: number): Assignment {
  const ms = normalizeMembers(members);
  assertPartitionCount(partitions);
  const floor = Math.floor(partitions / ms.length);
  let extraSlots = partitions % ms.length;

  const pairs: { score: number; m: number; p: number }[] = [];
  ms.forEach((member, m) => {
    const prefix = fnv1a32(`${member}/`);
    for (let p = 0; p < partitions; p++) pairs.push({ score: scoreWithPrefix(prefix, p), m, p });
  });
  pairs.sort((x, y) => y.score - x.score || x.m - y.m || x.p - y.p);

  const owner: (string | undefined)[] = new Array(partitions).fill(undefined);
  const load = new Array<number>(ms.length).fill(0);
  for (const { m, p } of pairs) {
    if (owner[p] !== undefined) continue;
    const l = load[m]!;
    if (l < floor) {
      owner[p] = ms[m];
      load[m] = l + 1;
    } else if (l === floor && extraSlots > 0) {
      owner[p] = ms[m];
      load[m] = l + 1;
      extraSlots--;
    }
  }
  return checked(owner, ms, partitions);
}

/**
 * Next table from the previous one. Only two kinds of partition move:
 *  1. orphans (owner no longer live), each to the least-loaded live member,
 *     ties to the one that scores the partition highest;
 *  2. while loads differ by more than one, a partition from a most-loaded member
 *     to the least-loaded member (in practice: a newcomer), picking the one the
 *     receiver scores highest.
 * From a balanced table this moves exactly the departed members' partitions, or
 * exactly what newcomers take; the result is always balanced (max ≤ ⌈P/N⌉).
 */
export function rebalance(prev: Assignment | null, members: readonly string[], partitions: number): Assignment {
  const ms = normalizeMembers(members);
  assertPartitionCount(partitions);
  if (prev === null || prev.length !== partitions) return initialAssignment(ms, partitions);

  const prefix = new Map(ms.map((m) => [m, fnv1a32(`${m}/`)]));
  const score = (member: string, p: number): number => scoreWithPrefix(prefix.get(member)!, p);
  const load = new Map<string, number>(ms.map((m) => [m, 0]));
  const owner: (string | undefined)[] = prev.map((o) => (load.has(o) ? o : undefined));
  for (const o of owner) if (o !== undefined) load.set(o, load.get(o)! + 1);

  // 1. Orphans, in partition order.
  for (let p = 0; p < partitions; p++) {
    if (owner[p] !== undefined) continue;
    let best = ms[0]!;
    for (const m of ms) {
      const d = load.get(m)! - load.get(best)!;
      if (d < 0 || (d === 0 && beats(score(m, p), m, score(best, p), best))) best = m;
    }
    owner[p] = best;
    load.set(best, load.get(best)! + 1);
  }

  // 2. Level out. Each move lowers the sum of squared loads, so this ends; at most P moves.
  for (let moves = 0; moves <= partitions; moves++) {
    const { min, max } = extremes(ms, load);
    if (load.get(max)! - load.get(min)! <= 1) return checked(owner, ms, partitions);
    const top = load.get(max)!;
    let pick = -1;
    let pickScore = -1;
    for (let p = 0; p < partitions; p++) {
      if (load.get(owner[p]!) !== top) continue;
      const s = score(min, p);
      if (s > pickScore) [pick, pickScore] = [p, s]; // strict: ties keep the lower partition
    }
    load.set(owner[pick]!, top - 1);
    load.set(min, load.get(min)! + 1);
    owner[pick] = min;
  }
  throw new AssignmentError("invariant_broken", "rebalance did not converge within P moves");
}

/** Sorted, deduplicated, validated member ids: the result must not depend on their order. */
function normalizeMembers(members: readonly string[]): string[] {
  for (const m of members) {
    if (typeof m !== "string" || m.length === 0) {
      throw new AssignmentError("invalid_member", `member ids must be non-empty strings, got ${JSON.stringify(m)}`);
    }
  }
  const ms = [...new Set(members)].sort(compareIds);
  if (ms.length === 0) throw new AssignmentError("no_members", "cannot assign partitions to no members");
  return ms;
}

/** Code-unit order, not localeCompare: it must be the same on every node whatever its locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function beats(scoreA: number, a: string, scoreB: number, b: string): boolean {
  return scoreA > scoreB || (scoreA === scoreB && compareIds(a, b) < 0);
}

/** Least- and most-loaded members; ties to the first in sorted order. */
function extremes(ms: readonly string[], load: ReadonlyMap<string, number>): { min: string; max: string } {
  let min = ms[0]!;
  let max = ms[0]!;
  for (const m of ms) {
    if (load.get(m)! < load.get(min)!) min = m;
    if (load.get(m)! > load.get(max)!) max = m;
  }
  return { min, max };
}

/** What every table must satisfy before anyone may publish it. */
function checked(owner: readonly (string | undefined)[], ms: readonly string[], partitions: number): Assignment {
  if (owner.length !== partitions) throw new AssignmentError("invariant_broken", "table length differs from P");
  const live = new Set(ms);
  const cap = loadCap(ms.length, partitions, 0);
  const load = new Map<string, number>();
  for (const [p, o] of owner.entries()) {
    if (o === undefined || !live.has(o)) {
      throw new AssignmentError("invariant_broken", `partition ${p} has no live owner`);
    }
    load.set(o, (load.get(o) ?? 0) + 1);
  }
  for (const [m, l] of load) {
    if (l > cap) throw new AssignmentError("invariant_broken", `member ${m} owns ${l} > ${cap} partitions`);
  }
  return Object.freeze(owner as string[]);
}
