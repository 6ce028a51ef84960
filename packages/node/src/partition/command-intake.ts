import { decodeCommand, type AnyCommand, type Command, type InputRejection } from "@bourse/engine";
import { partitionOf } from "../partitioning.js";
import { subjects } from "../protocol.js";

/** The subject's market token for commands that name no market (cancelAll of every market, tick). */
export const NO_MARKET_TOKEN = "_";

export type Intake = { ok: true; cmd: Command } | { ok: false; rejection: InputRejection };

/**
 * Turns one message of `bourse.in.<p>.<market>.<account>` into an engine command,
 * or a rejection naming what is wrong. The subject is authoritative: the payload
 * must name the same market and account (NATS permissions bind a publisher to its
 * account's subjects) and the market must hash to this partition.
 */
export function intake(subject: string, data: Uint8Array, partition: number, partitions: number): Intake {
  const d = decodeCommand(data);
  if (!d.ok) {
    return fail(d.cmdId, d.account, d.market, d.orderId, d.code, d.message);
  }
  // Every command of a replay passes: it is checked against the subject without splitting it
  // (five strings and an array per command); anything else gets the full checks and their words.
  if (addressedHere(subject, d.cmd, partition, partitions)) return { ok: true, cmd: d.cmd };
  return checkAddress(subject, d.cmd, partition, partitions);
}

/** `bourse.in.<p>.` for each partition, built once. */
const prefixes: string[] = [];

function prefixOf(partition: number): string {
  // subjects.in with an empty market and account ends in "..": the prefix is all but the last dot.
  return (prefixes[partition] ??= subjects.in(partition, "", "").slice(0, -1));
}

/**
 * Whether checkAddress would accept `c` on `subject`, for the usual subject: exactly
 * `bourse.in.<partition>.<market or _>.<account>`, neither token holding a dot (so the
 * subject has the five tokens checkAddress splits). False means "ask checkAddress", not
 * "rejected": checkAddress accepts any first three tokens, this only the canonical ones.
 */
function addressedHere(subject: string, c: AnyCommand, partition: number, partitions: number): c is Command {
  if (c.kind === "query") return false;
  const named = c.kind === "market" ? c.symbol : "market" in c && typeof c.market === "string" ? c.market : "";
  const token = named === "" ? NO_MARKET_TOKEN : named;
  const account = c.account;
  const prefix = prefixOf(partition);
  const at = prefix.length + token.length;
  return (
    subject.length === at + 1 + account.length &&
    subject.startsWith(prefix) &&
    subject.startsWith(token, prefix.length) &&
    subject.charCodeAt(at) === 0x2e && // "."
    subject.endsWith(account) &&
    !token.includes(".") &&
    !account.includes(".") &&
    (named === "" || partitionOf(named, partitions) === partition)
  );
}

/** The subject checks in full, with the rejection for each (exported for the tests, which hold addressedHere to it). */
export function checkAddress(subject: string, c: AnyCommand, partition: number, partitions: number): Intake {
  const tokens = subject.split(".");
  const market = "market" in c && typeof c.market === "string" ? c.market : "";
  const orderId = "orderId" in c ? c.orderId : 0;
  if (tokens.length !== 5) return fail(c.cmdId, c.account, market, orderId, "malformed", `subject ${subject} is not bourse.in.<partition>.<market>.<account>`);
  const [, , , subjMarket, subjAccount] = tokens as [string, string, string, string, string];
  if (c.kind === "query") return fail(c.cmdId, c.account, market, orderId, "invalid_value", `queries are served on bourse.q.${partition}, not through the command log`);
  if (c.account !== subjAccount) return fail(c.cmdId, c.account, market, orderId, "invalid_value", `payload account ${c.account} does not match subject account ${subjAccount}`);
  const named = c.kind === "market" ? c.symbol : market;
  if (named === "") {
    // No market (cancelAll of every market, tick): addressed to the partition itself.
    if (subjMarket !== NO_MARKET_TOKEN) return fail(c.cmdId, c.account, named, orderId, "invalid_value", `a command without a market goes to bourse.in.${partition}.${NO_MARKET_TOKEN}.<account>, not market token ${subjMarket}`);
    return { ok: true, cmd: c };
  }
  if (named !== subjMarket) return fail(c.cmdId, c.account, named, orderId, "invalid_value", `payload market ${named} does not match subject market ${subjMarket}`);
  if (partitionOf(subjMarket, partitions) !== partition) return fail(c.cmdId, c.account, named, orderId, "wrong_partition", `market ${subjMarket} belongs to partition ${partitionOf(subjMarket, partitions)}, not ${partition}`);
  return { ok: true, cmd: c };
}

function fail(cmdId: string, account: string, market: string, orderId: number, code: InputRejection["code"], message: string): Intake {
  return { ok: false, rejection: { cmdId, account, market, orderId, code, message } };
}
