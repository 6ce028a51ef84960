/**
 * Reading the log files of the processes `bourse dev` started: waiting for a
 * line (a node's "node started") from where the file ended when the process
 * was started, and the last lines, to show why a process failed.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { devLimits } from "./limits.js";

/** Size of `file` now, 0 if it does not exist: where a new process's lines will begin. */
export function logOffset(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Reads whole lines appended to a file since `offset`; a partial last line waits for the next read. */
export class LogFollower {
  private partial = "";

  constructor(
    private readonly file: string,
    private offset: number,
  ) {}

  /** The complete lines appended since the last call. */
  read(): string[] {
    let fd: number;
    try {
      fd = openSync(this.file, "r");
    } catch {
      return [];
    }
    try {
      const buf = Buffer.alloc(devLimits.logReadBytesMax);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const text = this.partial + buf.toString("utf8", 0, n);
      const lines = text.split("\n");
      this.partial = lines.pop() ?? "";
      return lines;
    } finally {
      closeSync(fd);
    }
  }
}

const TAIL_BYTES_MAX = 64 * 1024;

/** A JSON log line (pino), or undefined for anything else. */
export function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The last `n` lines of `file` after `offset`, indented for the terminal. */
export function logTail(file: string, offset = 0, n: number = devLimits.logTailLinesMax): string {
  // Only the end of a long log: its first line may come out cut.
  const follower = new LogFollower(file, Math.max(offset, logOffset(file) - TAIL_BYTES_MAX));
  const lines: string[] = [];
  for (let chunk = follower.read(); chunk.length > 0; chunk = follower.read()) {
    lines.push(...chunk);
    if (lines.length > n) lines.splice(0, lines.length - n);
  }
  return lines.map((l) => `    ${l}`).join("\n");
}
