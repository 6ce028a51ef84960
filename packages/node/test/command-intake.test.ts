/**
 * intake's shortcut for the usual subject (addressedHere) against the full subject
 * checks (checkAddress): on any command and subject, intake gives exactly what
 * decoding and then checkAddress give — the same commands, the same rejections.
 */
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeCommand, encodeCommand, type AnyCommand } from "@bourse/engine";
import { checkAddress, intake, NO_MARKET_TOKEN } from "../src/partition/command-intake.js";
import { partitionOf } from "../src/partitioning.js";

const PARTITIONS = [1, 4, 64];
const token = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("SKU-1", "SKU-2", "SKU-3", "BTC-USD", "alice", "acct-0001", "admin") },
  { weight: 1, arbitrary: fc.constantFrom("_", "a.b", ".", "x.", "*", ">", "SKU 1") },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom("a", "b", ".", "_", "-"), minLength: 1, maxLength: 6 }) },
);
const maybeMarket = fc.option(token, { nil: undefined });

const command: fc.Arbitrary<AnyCommand> = fc.oneof(
  fc.tuple(token, token).map(([account, market]) => ({ kind: "place", cmdId: "c1", account, market, side: "buy", type: "limit", price: 10, qty: 1, tif: "GTC" }) as AnyCommand),
  fc.tuple(token, token).map(([account, market]) => ({ kind: "cancel", cmdId: "c2", account, market, orderId: 7 }) as AnyCommand),
  fc.tuple(token, maybeMarket).map(([account, market]) => ({ kind: "cancelAll", cmdId: "c3", account, ...(market === undefined ? {} : { market }) }) as AnyCommand),
  token.map((account) => ({ kind: "tick", cmdId: "c4", account }) as AnyCommand),
  fc.tuple(token, token).map(([account, symbol]) => ({ kind: "market", cmdId: "c5", account, symbol, tickSize: 1, lotSize: 1, minQty: 1, maxQty: 9, refPrice: 5, bandBps: 100, state: "open" }) as AnyCommand),
  fc.tuple(token, token).map(([account, market]) => ({ kind: "query", cmdId: "c6", account, market, orderId: 3 }) as AnyCommand),
);

/** The command's own subject for a partition, and variations on it. */
function subjectFor(c: AnyCommand, p: number): fc.Arbitrary<string> {
  const named = c.kind === "market" ? c.symbol : "market" in c && c.market !== undefined ? c.market : NO_MARKET_TOKEN;
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(`bourse.in.${p}.${named}.${c.account}`) },
    { weight: 1, arbitrary: fc.constantFrom(`bourse.in.${p + 1}.${named}.${c.account}`, `x.y.z.${named}.${c.account}`, `bourse.in.${p}.${named}.${c.account}.x`, `bourse.in.${p}.${c.account}`, `bourse.in.${p}.${NO_MARKET_TOKEN}.${c.account}`, `bourse.in.${p}.${named}.${c.account}x`, `bourse.in.${p}.${named}x.${c.account}`, `bourse.in.${p}..${named}.${c.account}`, `bourse.in.${p}.${named}_${c.account}`, `bourse.in.${p}_${named}.${c.account}`) },
    { weight: 1, arbitrary: fc.tuple(token, token).map(([m, a]) => `bourse.in.${p}.${m}.${a}`) },
  );
}

const input = fc.tuple(command, fc.constantFrom(...PARTITIONS)).chain(([c, partitions]) => {
  const home = c.kind === "market" ? c.symbol : "market" in c && c.market !== undefined ? c.market : "";
  const partition = home === "" ? 0 : partitionOf(home, partitions);
  return fc.tuple(fc.constant(c), fc.constant(partitions), fc.constantFrom(partition, (partition + 1) % partitions)).chain(([c, n, p]) =>
    subjectFor(c, p).map((subject) => ({ c, partitions: n, partition: p, subject })),
  );
});

test("intake gives what decoding and the full subject checks give", () => {
  let accepted = 0;
  fc.assert(
    fc.property(input, ({ c, partitions, partition, subject }) => {
      const bytes = encodeCommand(c);
      const d = decodeCommand(bytes);
      const got = intake(subject, bytes, partition, partitions);
      if (!d.ok) return assert.is(got.ok, false);
      const want = checkAddress(subject, d.cmd, partition, partitions);
      assert.equal(got, want);
      if (got.ok) accepted++;
    }),
    { numRuns: 5000 },
  );
  assert.ok(accepted > 500, `accepted ${accepted}`);
});

test("the usual subjects are accepted, the others rejected as before", () => {
  const place = encodeCommand({ kind: "place", cmdId: "c1", account: "alice", market: "SKU-1", side: "buy", type: "limit", price: 10, qty: 1, tif: "GTC" });
  const p = partitionOf("SKU-1", 64);
  assert.ok(intake(`bourse.in.${p}.SKU-1.alice`, place, p, 64).ok);
  const r = intake(`bourse.in.${p}.SKU-1.bob`, place, p, 64);
  assert.equal(r, { ok: false, rejection: { cmdId: "c1", account: "alice", market: "SKU-1", orderId: 0, code: "invalid_value", message: "payload account alice does not match subject account bob" } });
  const tick = encodeCommand({ kind: "tick", cmdId: "t", account: "n1" });
  assert.ok(intake(`bourse.in.3.${NO_MARKET_TOKEN}.n1`, tick, 3, 64).ok);
  assert.is(intake(`bourse.in.3.SKU-1.n1`, tick, 3, 64).ok, false);
});

test.run();
