/**
 * `bourse send place|amend|cancel|cancel-all|query`: one command through the
 * same BourseClient library users call. The input is validated before any
 * connection is made (a bad flag is a usage error, exit 2); a rejected command
 * prints its reason and exits 1, as does a command whose report or reply does
 * not come (the message says whether it is logged).
 */
import type { EngineEvent, OrderView } from "@bourse/engine";
import { BourseClient } from "../client/bourse-client.js";
import type { CancelAllResult } from "../client/cancel-all.js";
import { buildCommand, checkAccount, type ClientKind } from "../client/commands.js";
import { BourseClientError, BourseValidationError } from "../client/errors.js";
import {
  exitCodes,
  leafCommand,
  sendAmendOptions,
  sendCancelAllOptions,
  sendCancelOptions,
  sendPlaceOptions,
  sendQueryOptions,
  UsageError,
  type Command,
} from "./options.js";

/** The flags every `send` leaf shares (sendCommonOptions). */
interface Common {
  nats: string | undefined;
  account: string | undefined;
  creds: string | undefined;
  partitions: number | undefined;
  "timeout-ms": number;
  json: boolean;
}
type Fields = Record<string, unknown>;

const sendPlace = leafCommand({
  name: "place",
  summary: "Place an order and print its reports",
  options: sendPlaceOptions,
  run: (o) =>
    sendOne(o, "place", {
      market: o.market, side: o.side, type: o.type, price: o.price, qty: o.qty, tif: o.tif, expireAt: o["expire-at"],
      postOnly: o["post-only"] ? true : undefined, stp: o.stp, protectionPrice: o["protection-price"], cmdId: o["cmd-id"],
    }),
});

const sendAmend = leafCommand({
  name: "amend",
  summary: "Amend an order's price or open quantity and print its reports",
  options: sendAmendOptions,
  run: (o) => sendOne(o, "amend", { market: o.market, orderId: o["order-id"], price: o.price, qty: o.qty, cmdId: o["cmd-id"] }),
});

const sendCancel = leafCommand({
  name: "cancel",
  summary: "Cancel an order and print its reports",
  options: sendCancelOptions,
  run: (o) => sendOne(o, "cancel", { market: o.market, orderId: o["order-id"], cmdId: o["cmd-id"] }),
});

const sendCancelAll = leafCommand({
  name: "cancel-all",
  summary: "Cancel the account's orders in one market or all; returns once logged",
  options: sendCancelAllOptions,
  run: (o) => sendOne(o, "cancelAll", { market: o.market, cmdId: o["cmd-id"] }),
});

const sendQuery = leafCommand({
  name: "query",
  summary: "Print an order's current state (request/reply to the partition's owner)",
  options: sendQueryOptions,
  run: (o) => sendOne(o, "query", { market: o.market, orderId: o["order-id"] }),
});

export const send: Command = {
  name: "send",
  summary: "Send one command to the cluster, as a publisher would",
  subcommands: [sendPlace, sendAmend, sendCancel, sendCancelAll, sendQuery],
};

async function sendOne(o: Common, kind: ClientKind, raw: Fields): Promise<number> {
  const input = prevalidate(o, kind, raw);
  let client: BourseClient;
  try {
    client = await BourseClient.connect({
      servers: o.nats!,
      account: o.account!,
      ...(o.partitions !== undefined && { partitions: o.partitions }),
      ...(o.creds !== undefined && { credsFile: o.creds }),
      timeoutMs: o["timeout-ms"],
      queryTimeoutMs: o["timeout-ms"],
      name: `bourse-cli:${o.account!}`,
    });
  } catch (e) {
    return failed(e);
  }
  try {
    return await run(client, kind, input, o.json);
  } catch (e) {
    return failed(e);
  } finally {
    await client.close();
  }
}

/** Checks the flags as the client will, before connecting; returns the input with its cmdId fixed. */
function prevalidate(o: Common, kind: ClientKind, raw: Fields): Fields {
  if (o.nats === undefined) throw new UsageError("--nats is required (a NATS server URL, e.g. nats://127.0.0.1:4222)");
  if (o.account === undefined) throw new UsageError("--account is required");
  const input = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  try {
    checkAccount(o.account);
    const cmd = buildCommand(kind, o.account, input);
    return kind === "query" ? input : { ...input, cmdId: cmd.cmdId };
  } catch (e) {
    if (!(e instanceof BourseValidationError)) throw e;
    const flag = (field: string): string => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const either = /needs (\w+) or (\w+)/.exec(e.message);
    if (either) throw new UsageError(`${flag(either[1]!)} or ${flag(either[2]!)} is required (${e.message})`);
    throw new UsageError(e.rejectCode === "missing_field" ? `${flag(e.field)} is required (${e.message})` : `${flag(e.field)}: ${e.message}`);
  }
}

async function run(client: BourseClient, kind: ClientKind, input: Fields, json: boolean): Promise<number> {
  if (kind === "query") {
    const order = await client.query(input as never);
    print(json ? JSON.stringify(order) : formatOrder(order));
    return exitCodes.ok;
  }
  if (kind === "cancelAll") {
    const r = await client.cancelAll(input);
    print(json ? JSON.stringify(r) : formatCancelAll(r));
    return exitCodes.ok;
  }
  const related = followCommand(client, String(input["cmdId"]), input["orderId"] as number | undefined);
  const report = await client[kind](input as never);
  related.stop();
  const events = related.events.length > 0 ? related.events : [report.event];
  for (const e of events) print(json ? JSON.stringify(e) : formatEvent(e));
  if (!report.ok) process.stderr.write(`bourse: ${kind} ${report.cmdId} rejected: ${report.code ?? "rejected"}: ${report.message ?? ""}\n`);
  return report.ok ? exitCodes.ok : exitCodes.failed;
}

/** Collects the events of one command and of the order it names, as they are delivered. */
function followCommand(client: BourseClient, cmdId: string, orderId: number | undefined): { events: EngineEvent[]; stop: () => void } {
  const events: EngineEvent[] = [];
  let order = orderId;
  const stop = client.onReport((e) => {
    const own = "cmdId" in e && e.cmdId === cmdId;
    if (own && "orderId" in e && e.orderId > 0) order ??= e.orderId;
    const aboutOrder = order !== undefined && (e.type === "trade" ? e.maker === order || e.taker === order : "orderId" in e && e.orderId === order);
    if (own || aboutOrder) events.push(e);
  });
  return { events, stop };
}

function failed(e: unknown): number {
  if (!(e instanceof BourseClientError)) throw e;
  process.stderr.write(`bourse: ${e.message}\n`);
  return exitCodes.failed;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

// ---------------------------------------------------------------------------
// Readable lines

export function formatEvent(e: EngineEvent): string {
  const at = `[p${e.partition} seq ${e.seq}]`;
  switch (e.type) {
    case "accepted":
      return `accepted   ${e.market} order ${e.orderId}: ${e.side} ${e.orderType} ${e.qty} @ ${e.price} ${e.tif}  cmd ${e.cmdId} ${at}`;
    case "rejected":
      return `rejected   ${e.market || "-"} order ${e.orderId || "-"}: ${e.code}: ${e.message}  cmd ${e.cmdId} ${at}`;
    case "trade":
      return (
        `trade      ${e.market} #${e.tradeId}: ${e.qty} @ ${e.price}, maker order ${e.maker} (${e.makerAccount}, ${e.makerRemaining} left), ` +
        `taker order ${e.taker} (${e.takerAccount}, ${e.takerRemaining} left) ${at}`
      );
    case "amended":
      return `amended    ${e.market} order ${e.orderId}: ${e.remaining} @ ${e.price}${e.priorityKept ? ", priority kept" : ", priority lost"}  cmd ${e.cmdId} ${at}`;
    case "cancelled":
      return `cancelled  ${e.market} order ${e.orderId}: ${e.remaining} cancelled (${e.reason})  cmd ${e.cmdId} ${at}`;
    case "expired":
      return `expired    ${e.market} order ${e.orderId}: ${e.remaining} expired ${at}`;
    case "duplicate": {
      const o = e.original;
      return `duplicate  cmd ${e.cmdId} was already applied: ${o.result}${o.orderId > 0 ? ` order ${o.orderId}` : ""}${o.code ? ` (${o.code})` : ""} ${at}`;
    }
    case "l2":
      return `l2         ${e.market} ${e.side} ${e.price}: ${e.qty} ${at}`;
    case "market":
      return `market     ${e.spec.symbol}: ${e.spec.state} ${at}`;
  }
}

function formatOrder(o: OrderView): string {
  const expiry = o.expireAt > 0 ? ` expires ${new Date(o.expireAt).toISOString()}` : "";
  return `order ${o.orderId} ${o.market}: ${o.status}, ${o.side} ${o.orderType} @ ${o.price} ${o.tif}${expiry}, filled ${o.filled}, remaining ${o.remaining} of ${o.qty}  cmd ${o.cmdId}`;
}

function formatCancelAll(r: CancelAllResult): string {
  const where = r.partitions.length === 1 ? `partition ${r.partitions[0]}` : `${r.partitions.length} partitions`;
  return `cancel-all logged in ${where}  cmd ${r.cmdId} (cancelled orders are reported to the account)`;
}
