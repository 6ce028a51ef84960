import type { Command } from "./types.js";

/** A command that failed every attempt, for the node to publish to the dead-letter stream. */
export interface DeadLetter {
  partition: number;
  inSeq: number;
  ts: number;
  command: Command;
  attempts: number;
  error: { name: string; message: string; stack: string };
}

/** Something an operator should see, for the node to publish on the alert subject. */
export interface Alert {
  level: "error" | "warning";
  partition: number;
  inSeq: number;
  cmdId: string;
  message: string;
}

export function describeError(e: unknown): DeadLetter["error"] {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack ?? "" };
  return { name: "NonError", message: String(e), stack: "" };
}
