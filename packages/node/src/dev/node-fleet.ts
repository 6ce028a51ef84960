/**
 * The `bourse node` processes of a local cluster: node-1..node-N, real
 * processes of the built CLI (the same ones production runs), each logging to
 * `<data>/node-<i>.log`, started together and ready once each logs
 * "node started".
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { DevError, throwIfStopped } from "./errors.js";
import { devLimits } from "./limits.js";
import { describeExit } from "./local-nats.js";
import { LogFollower, logOffset, logTail, parseLogLine } from "./log-file.js";
import { ManagedProcess } from "./processes.js";
import { NODE_V8_FLAGS } from "../v8-flags.js";

/** packages/node/bin/bourse.js, from dist/src/dev/. */
export const BOURSE_BIN = fileURLToPath(new URL("../../../bin/bourse.js", import.meta.url));

export interface FleetOptions {
  nats: string;
  nodes: number;
  partitions: number;
  /** node-i serves HTTP on base + i - 1; 0 lets every node pick a free port. */
  httpPortBase: number;
  dataDir: string;
}

export interface FleetNode {
  readonly id: string;
  readonly process: ManagedProcess;
  readonly logFile: string;
  /** Where this run's lines begin in the (appended) log file. */
  readonly logOffset: number;
  /** The port of /metrics, /healthz and /readyz, as the node logged it. */
  httpPort: number;
}

export interface NodeStop {
  id: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
}

export const nodeId = (i: number): string => `node-${i}`;

/** The argv of node-i after the node binary; the pid file matches on `--id` and `--nats`. */
export function nodeArgs(o: Pick<FleetOptions, "nats" | "partitions" | "httpPortBase">, i: number): string[] {
  const httpPort = o.httpPortBase === 0 ? 0 : o.httpPortBase + i - 1;
  return [...NODE_V8_FLAGS, BOURSE_BIN, "node", "--nats", o.nats, "--id", nodeId(i), "--http-port", String(httpPort), "--partitions", String(o.partitions)];
}

export class NodeFleet {
  private constructor(readonly nodes: readonly FleetNode[]) {}

  /**
   * Spawns every node (telling `onSpawn` each pid at once, for the pid file) and
   * waits until all have started; if one fails, stops them all and throws.
   */
  static async start(o: FleetOptions, onSpawn: (n: FleetNode) => void, signal?: AbortSignal): Promise<NodeFleet> {
    const nodes: FleetNode[] = [];
    for (let i = 1; i <= o.nodes; i++) {
      const logFile = join(o.dataDir, `${nodeId(i)}.log`);
      const offset = logOffset(logFile);
      const proc = ManagedProcess.start({ name: nodeId(i), command: process.execPath, args: nodeArgs(o, i), logFile });
      const n: FleetNode = { id: nodeId(i), process: proc, logFile, logOffset: offset, httpPort: 0 };
      nodes.push(n);
      if (proc.running) onSpawn(n);
    }
    const fleet = new NodeFleet(nodes);
    try {
      await Promise.all(nodes.map((n) => waitStarted(n, signal)));
    } catch (e) {
      await fleet.stop();
      throw e;
    }
    return fleet;
  }

  /** SIGTERM every node at once (each flushes, snapshots and hands off), SIGKILL the ones still there after the grace. */
  async stop(): Promise<NodeStop[]> {
    return Promise.all(
      this.nodes.map(async (n) => ({ id: n.id, ...(await n.process.stop(devLimits.nodeStopMsTimeout)) })),
    );
  }
}

async function waitStarted(n: FleetNode, signal: AbortSignal | undefined): Promise<void> {
  const follower = new LogFollower(n.logFile, n.logOffset);
  const deadline = Date.now() + devLimits.nodeStartMsTimeout;
  for (;;) {
    throwIfStopped(signal, `waiting for ${n.id} to start`);
    for (const line of follower.read()) {
      const l = parseLogLine(line);
      if (l?.["msg"] === "node started") {
        n.httpPort = Number(l["httpPort"]);
        return;
      }
    }
    if (!n.process.running) {
      await n.process.exited; // a failed spawn reports its error a tick later
      const why = n.process.startError ? `could not be started: ${n.process.startError.message}` : `exited (${describeExit(n.process)}) before it started`;
      throw new DevError("node_failed", `${n.id} ${why}; the end of ${n.logFile}:\n${logTail(n.logFile, n.logOffset)}`);
    }
    if (Date.now() > deadline) {
      throw new DevError("node_failed", `${n.id} did not log "node started" within ${devLimits.nodeStartMsTimeout} ms; the end of ${n.logFile}:\n${logTail(n.logFile, n.logOffset)}`);
    }
    await sleep(devLimits.pollMsInterval);
  }
}
