import { fail } from "./assert.js";
import { defineMarket, expireDue } from "./handlers/admin.js";
import { amend } from "./handlers/amend.js";
import { cancel, cancelAll } from "./handlers/cancel.js";
import { place } from "./handlers/place.js";
import type { FaultHook } from "./limits.js";
import type { Runtime } from "./runtime.js";
import type { Command } from "./types.js";

/**
 * Delivers one command to the actors that own it. Log time first expires due
 * GTD orders; a repeated cmdId restates its original outcome and does nothing.
 */
export function dispatch(rt: Runtime, c: Command, adminAccount: string, hook?: FaultHook, attempt = 0, idempotent = true): void {
  expireDue(rt);
  const prior = idempotent ? rt.state.outcomeOf(c.cmdId) : undefined;
  if (prior) return rt.duplicate(c, prior);
  hook?.("before", c.cmdId, attempt);
  handle(rt, c, adminAccount);
  hook?.("after", c.cmdId, attempt);
}

function handle(rt: Runtime, c: Command, adminAccount: string): void {
  switch (c.kind) {
    case "place":
      return place(rt, c);
    case "cancel":
      return cancel(rt, c);
    case "amend":
      return amend(rt, c);
    case "cancelAll":
      return cancelAll(rt, c);
    case "market":
      return defineMarket(rt, c, adminAccount);
    case "tick":
      return rt.done(c.cmdId, 0);
    default:
      fail(`unknown command kind ${(c as { kind: string }).kind}`);
  }
}
