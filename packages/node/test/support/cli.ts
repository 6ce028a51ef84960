/**
 * Runs the real `bourse` CLI (the built bin) in a child process, as a user would:
 * tracked by the reaper, SIGTERMed (so it cleans up what it started) if it
 * outlives `msTimeout`; resolves with its exit code and output.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { trackChild, untrackChild } from "../../src/local/reaper.js";

const BIN = fileURLToPath(new URL("../../../bin/bourse.js", import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBourse(args: readonly string[], msTimeout = 180_000): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGTERM"), msTimeout);
  return new Promise((resolve) => {
    child.once("close", (code) => {
      clearTimeout(timer);
      untrackChild(child);
      resolve({ code, stdout, stderr });
    });
  });
}
