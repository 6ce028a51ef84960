/** Runs the real `bourse sim` CLI in a child process and parses its --json line. */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { SimSummary } from "../src/summary.js";

const BIN = fileURLToPath(new URL("../../bin/bourse.js", import.meta.url));
const RUN_MS_TIMEOUT = 240_000;

export interface SimRun {
  code: number | null;
  summary: SimSummary;
  stderr: string;
}

export function runSimCli(args: string[]): Promise<SimRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "sim", "--json", "--no-progress", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    // SIGTERM lets the sim stop its nodes and servers (their reaper runs on SIGTERM).
    const timer = setTimeout(() => child.kill("SIGTERM"), RUN_MS_TIMEOUT);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line === undefined) return reject(new Error(`bourse sim printed no JSON (exit ${code}):\n${out}\n${err}`));
      const summary = JSON.parse(line) as SimSummary;
      // A failing run keeps its node logs; a test removes them unless asked to keep them for a post-mortem.
      if (summary.work_dir !== null && process.env["BOURSE_KEEP_SIM_LOGS"] === undefined) rmSync(summary.work_dir, { recursive: true, force: true });
      resolve({ code, summary, stderr: err });
    });
  });
}

/** The violation kinds of a run, e.g. ["1_applied_twice", "5_output_sequence"]. */
export function kinds(s: SimSummary): string[] {
  return Object.keys(s.violations_by_invariant).sort();
}
