import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  AssignmentError,
  diff,
  hrwScore,
  initialAssignment,
  loadCap,
  loadsOf,
  partitionsOf,
  rebalance,
  type Assignment,
} from "../src/assignment.js";

const PARTITION_COUNTS = [16, 64, 256, 1024] as const;
const MEMBERS_MAX = 20;
const EPSILON = 0.25;

const names = (n: number, prefix = "node-"): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const without = (ms: readonly string[], gone: readonly string[]): string[] => ms.filter((m) => !gone.includes(m));

/** Deterministic shuffle so a failure reproduces. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** What every table must satisfy, one condition per assert. */
function assertValid(a: Assignment, members: readonly string[], partitions: number): void {
  const live = new Set(members);
  assert.is(a.length, partitions, "one owner per partition");
  for (const owner of a) assert.ok(live.has(owner), `owner ${owner} is live`);
  const loads = [...loadsOf(a, members).values()];
  const max = Math.max(...loads);
  const min = Math.min(...loads);
  assert.ok(max <= loadCap(live.size, partitions, 0), `max ${max} <= ceil(P/N)`);
  assert.ok(max <= loadCap(live.size, partitions, EPSILON), `max ${max} <= ceil((1+eps)P/N)`);
  assert.ok(max - min <= 1, `loads ${min}..${max} differ by at most one`);
}

function assertArrival(prev: Assignment, next: Assignment, newcomer: string, n: number, partitions: number): void {
  const moved = diff(prev, next);
  for (const p of moved) assert.is(next[p], newcomer, `partition ${p} moved to the newcomer only`);
  const got = partitionsOf(next, newcomer).length;
  assert.is(got, moved.length);
  assert.ok(got === Math.floor(partitions / n) || got === Math.ceil(partitions / n), `newcomer got ${got}`);
}

test("loadCap", () => {
  assert.is(loadCap(3, 64), 22);
  assert.is(loadCap(3, 64, 0), 22);
  assert.is(loadCap(3, 64, EPSILON), 27);
  assert.is(loadCap(4, 64, 0), 16);
  assert.is(loadCap(20, 16, EPSILON), 1);
  assert.is(loadCap(1, 1024, 0), 1024);
});

test("exhaustive: N = 1..20, P in {16, 64, 256, 1024}: bound, departure, arrival, member order", () => {
  for (const partitions of PARTITION_COUNTS) {
    for (let n = 1; n <= MEMBERS_MAX; n++) {
      const ms = names(n);
      const a = initialAssignment(ms, partitions);
      assertValid(a, ms, partitions);
      assert.equal(rebalance(null, ms, partitions), a, "prev = null is the initial table");
      assert.equal(initialAssignment(shuffled(ms, n * partitions), partitions), a, "initial ignores member order");
      assert.equal(rebalance(a, shuffled(ms, n), partitions), a, "same members: nothing moves");

      for (const gone of n > 1 ? ms : []) {
        const b = rebalance(a, without(ms, [gone]), partitions);
        assertValid(b, without(ms, [gone]), partitions);
        assert.equal(diff(a, b), partitionsOf(a, gone), `departure of ${gone} moves only its partitions`);
      }

      const c = rebalance(a, [...ms, "newcomer"], partitions);
      assertValid(c, [...ms, "newcomer"], partitions);
      assertArrival(a, c, "newcomer", n + 1, partitions);
      assert.equal(rebalance(a, shuffled([...ms, "newcomer"], 7), partitions), c, "rebalance ignores member order");
    }
  }
});

test("simultaneous departures and arrivals keep the bound and move only what they must", () => {
  for (const partitions of PARTITION_COUNTS) {
    for (let n = 2; n <= MEMBERS_MAX; n++) {
      const ms = names(n);
      const a = initialAssignment(ms, partitions);
      const gone = ms.filter((_, i) => i % 3 === 1);
      const fresh = names(Math.max(1, Math.floor(n / 2)), "fresh-");
      const next = [...without(ms, gone), ...fresh];
      const b = rebalance(a, next, partitions);
      assertValid(b, next, partitions);
      for (const p of diff(a, b)) {
        assert.ok(gone.includes(a[p]!) || fresh.includes(b[p]!), `partition ${p} had to move`);
      }
    }
  }
});

type Op =
  | { kind: "join"; id: string }
  | { kind: "leave"; index: number }
  | { kind: "churn"; leave: number[]; join: string[] };

const memberId = fc.string({ minLength: 1, maxLength: 6 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("join" as const), id: memberId }),
  fc.record({ kind: fc.constant("leave" as const), index: fc.nat() }),
  fc.record({
    kind: fc.constant("churn" as const),
    leave: fc.array(fc.nat(), { maxLength: 4 }),
    join: fc.array(memberId, { maxLength: 4 }),
  }),
);

test("random join/leave sequences keep every invariant (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...PARTITION_COUNTS),
      fc.uniqueArray(memberId, { minLength: 1, maxLength: 8 }),
      fc.array(op, { maxLength: 25 }),
      (partitions, start, ops) => {
        let ms = [...start];
        let table = rebalance(null, ms, partitions);
        assertValid(table, ms, partitions);
        for (const o of ops) {
          const picked = o.kind === "leave" ? [o.index] : o.kind === "churn" ? o.leave : [];
          const gone = [...new Set(picked.map((i) => ms[i % ms.length]!))];
          const joined = (o.kind === "join" ? [o.id] : o.kind === "churn" ? o.join : []).filter((m) => !ms.includes(m));
          const next = [...new Set([...without(ms, gone), ...joined])];
          if (next.length === 0) continue;
          const after = rebalance(table, next, partitions);
          assertValid(after, next, partitions);
          assert.equal(rebalance(table, shuffled(next, ops.length), partitions), after, "order-independent");
          const pureLeave = joined.length === 0 && gone.length > 0;
          const pureJoin = gone.length === 0 && joined.length === 1;
          if (pureLeave) {
            assert.equal(diff(table, after), gone.flatMap((g) => partitionsOf(table, g)).sort((x, y) => x - y));
          }
          if (pureJoin) assertArrival(table, after, joined[0]!, next.length, partitions);
          for (const p of diff(table, after)) {
            assert.ok(!next.includes(table[p]!) || joined.includes(after[p]!), `partition ${p} had to move`);
          }
          ms = next;
          table = after;
        }
      },
    ),
    { numRuns: 150 },
  );
});

test("initial placement follows HRW preference where loads allow", () => {
  // With P >> N most partitions should land on the member that scores them highest.
  const ms = names(8);
  const a = initialAssignment(ms, 1024);
  let top = 0;
  for (let p = 0; p < 1024; p++) {
    const best = ms.reduce((x, y) => (hrwScore(y, p) > hrwScore(x, p) ? y : x));
    if (a[p] === best) top++;
  }
  assert.ok(top > 1024 * 0.6, `only ${top}/1024 on their first choice`);
});

test("prev of the wrong length is ignored", () => {
  const ms = names(5);
  const old = initialAssignment(ms, 16);
  assert.equal(rebalance(old, ms, 64), initialAssignment(ms, 64));
});

test("the table is frozen and deterministic across calls", () => {
  const a = initialAssignment(["b", "a", "c", "a"], 64);
  assert.ok(Object.isFrozen(a));
  assert.equal(a, initialAssignment(["c", "b", "a"], 64));
  const loads = loadsOf(a, ["c", "a", "b"]);
  assert.equal([...loads.keys()], ["a", "b", "c"], "duplicates dropped, sorted");
  assert.equal([...loads.values()].sort(), [21, 21, 22]);
});

function assertThrowsCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, AssignmentError);
    assert.is((e as AssignmentError).name, "AssignmentError");
    assert.is((e as AssignmentError).code, code);
    return;
  }
  assert.unreachable(`expected AssignmentError ${code}`);
}

test("typed errors", () => {
  assertThrowsCode(() => initialAssignment([], 64), "no_members");
  assertThrowsCode(() => rebalance(null, [], 64), "no_members");
  assertThrowsCode(() => rebalance(initialAssignment(["a"], 16), [], 16), "no_members");
  assertThrowsCode(() => initialAssignment(["a", ""], 64), "invalid_member");
  assertThrowsCode(() => loadCap(0, 64), "no_members");
  assertThrowsCode(() => loadCap(3, 64, -0.1), "invalid_epsilon");
});

test.run();
