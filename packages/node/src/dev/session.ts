/**
 * Everything one `bourse dev` run started, and the one way to stop it, in
 * order: status and load first, then the nodes (SIGTERM: each flushes,
 * snapshots and hands off; SIGKILL after the grace), then nats-server, which
 * the nodes needed until they were gone. The pid file goes last, and only if
 * every process is gone.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { BourseClient } from "../client/bourse-client.js";
import type { DemoLoad } from "./demo-load.js";
import { devLimits } from "./limits.js";
import type { PidFile, PidRecord } from "./pid-file.js";
import type { Exit, ManagedProcess } from "./processes.js";
import type { StatusBoard } from "./status-line.js";

export class DevSession {
  nats: ManagedProcess | undefined;
  readonly nodes: ManagedProcess[] = [];
  nc: NatsConnection | undefined;
  readonly clients: BourseClient[] = [];
  load: DemoLoad | undefined;
  board: StatusBoard | undefined;
  /** Set once stop() began: exits after this are expected. */
  stopping = false;

  constructor(
    readonly pidFile: PidFile,
    private readonly say: (line: string) => void,
  ) {}

  /** Records a started process (in the pid file at once) so stop() and the next run can find it. */
  adopt(p: ManagedProcess, role: "nats" | "node", match: Pick<PidRecord, "match" | "contains">): void {
    if (role === "nats") this.nats = p;
    else this.nodes.push(p);
    this.pidFile.add({ role, name: p.spec.name, pid: p.pid, ...match });
  }

  /** A second Ctrl-C: SIGKILL every process now, by pid. */
  forceKill(): void {
    for (const p of [...this.nodes, ...(this.nats ? [this.nats] : [])]) p.signal("SIGKILL");
  }

  /** Stops everything; returns what did not go cleanly (empty: all stopped as asked). Idempotent enough: a second call finds nothing running. */
  async stop(): Promise<string[]> {
    this.stopping = true;
    const problems: string[] = [];
    await this.board?.stop();
    // The block stays as it was last drawn; what follows prints below it.
    this.board = undefined;
    if (this.load) {
      this.say("stopping the demo load...");
      await this.load.stop();
    }
    for (const c of this.clients) await c.close().catch(() => {});
    await this.nc?.close().catch(() => {});
    const nodes = this.nodes.filter((p) => p.running);
    if (nodes.length > 0) {
      this.say(`stopping ${nodes.length} node${nodes.length === 1 ? "" : "s"} (SIGTERM, SIGKILL after ${devLimits.nodeStopMsTimeout / 1000} s)...`);
      const results = await Promise.all(nodes.map(async (p) => ({ p, r: await p.stop(devLimits.nodeStopMsTimeout) })));
      for (const { p, r } of results) {
        const problem = exitProblem(p.spec.name, r, r.code === 0);
        if (problem) problems.push(problem);
        this.say(`  ${p.spec.name} (pid ${p.pid}) ${problem ?? "stopped"}`);
      }
    }
    if (this.nats?.running) {
      this.say(`stopping nats-server (pid ${this.nats.pid})...`);
      const r = await this.nats.stop(devLimits.natsStopMsTimeout);
      // nats-server 2.9 shuts down in full on SIGTERM, then exits with code 1 (0 is for SIGINT).
      const problem = exitProblem("nats-server", r, r.code === 0 || r.code === 1 || r.signal === "SIGTERM");
      if (problem) problems.push(problem);
      else this.say("  nats-server stopped");
    }
    if ([...this.nodes, ...(this.nats ? [this.nats] : [])].every((p) => !p.running)) this.pidFile.remove();
    return problems;
  }
}

function exitProblem(name: string, r: Exit & { killed: boolean }, clean: boolean): string | undefined {
  if (r.killed) return `${name} did not stop within the grace period and was killed (SIGKILL)`;
  if (!clean) return `${name} exited with ${r.signal !== null ? `signal ${r.signal}` : `code ${r.code}`} when stopped`;
  return undefined;
}
