/**
 * The live status of a local cluster: one line per node (id, pid, ready?,
 * partitions owned, commands/s, max lag) read from each node's /metrics and
 * /readyz, and one line for the cluster and the demo load. On a terminal the
 * block is redrawn in place every second; otherwise it is printed every five
 * seconds, one line per node, so logs of CI runs stay readable.
 */
import { devLimits } from "./limits.js";
import type { LoadStats } from "./demo-load.js";

// ---------------------------------------------------------------------------
// Reading a node

/** The series of the node's metrics (metrics.ts) the status shows. */
export const STATUS_METRICS = {
  partitionsOwned: "bourse_partitions_owned",
  commands: "bourse_commands_total",
  /** One series per owned partition: the status shows the largest. */
  lag: "bourse_partition_lag_commands",
} as const;

export interface MetricsView {
  partitionsOwned: number | undefined;
  commandsTotal: number | undefined;
  /** Largest lag over the node's partitions; 0 when it reports none. */
  lagMax: number;
}

/** Picks the status series out of Prometheus text exposition; labels are ignored, lag takes the max. */
export function parseMetrics(text: string): MetricsView {
  const view: MetricsView = { partitionsOwned: undefined, commandsTotal: undefined, lagMax: 0 };
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    if (m[1] === STATUS_METRICS.partitionsOwned) view.partitionsOwned = value;
    else if (m[1] === STATUS_METRICS.commands) view.commandsTotal = value;
    else if (m[1] === STATUS_METRICS.lag) view.lagMax = Math.max(view.lagMax, value);
  }
  return view;
}

export interface NodeSample {
  reachable: boolean;
  ready: boolean;
  /** Why /readyz says not ready (first reason), or why the node could not be read. */
  reason: string | undefined;
  metrics: MetricsView;
}

/** GETs /metrics and /readyz of the node on `port`; never throws. */
export async function sampleNode(port: number, host = "127.0.0.1"): Promise<NodeSample> {
  const base = `http://${host}:${port}`;
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(devLimits.httpMsTimeout) });
    return { status: res.status, body: await res.text() };
  };
  try {
    const [metrics, ready] = await Promise.all([get("/metrics"), get("/readyz")]);
    let reason: string | undefined;
    if (ready.status !== 200) {
      try {
        reason = (JSON.parse(ready.body) as { reasons?: string[] }).reasons?.[0];
      } catch {
        reason = `/readyz answered ${ready.status}`;
      }
    }
    return { reachable: metrics.status === 200, ready: ready.status === 200, reason, metrics: parseMetrics(metrics.body) };
  } catch (e) {
    const reason = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    return { reachable: false, ready: false, reason, metrics: { partitionsOwned: undefined, commandsTotal: undefined, lagMax: 0 } };
  }
}

// ---------------------------------------------------------------------------
// Formatting

export interface NodeRow {
  id: string;
  pid: number;
  /** "exited (code 1)" once the process is gone; undefined while it runs. */
  exited: string | undefined;
  sample: NodeSample | undefined;
  /** Commands applied per second since the previous sample; undefined on the first. */
  commandsPerSecond: number | undefined;
}

export function formatNodeRow(r: NodeRow): string {
  const head = `${r.id.padEnd(8)} pid ${String(r.pid).padEnd(7)}`;
  if (r.exited !== undefined) return `${head} ${r.exited}`;
  const s = r.sample;
  if (s === undefined) return `${head} starting`;
  if (!s.reachable) return `${head} unreachable (${s.reason ?? "no answer"})`;
  const owned = s.metrics.partitionsOwned ?? 0;
  const rate = r.commandsPerSecond === undefined ? "-" : r.commandsPerSecond.toFixed(1);
  const line = `${head} ${(s.ready ? "ready" : "not ready").padEnd(9)}  partitions ${String(owned).padStart(4)}  cmd/s ${rate.padStart(7)}  max lag ${s.metrics.lagMax}`;
  return s.ready || s.reason === undefined ? line : `${line}  (${s.reason})`;
}

export interface ClusterView {
  partitions: number;
  owned: number;
  ready: number;
  nodes: number;
}

export function summarize(rows: readonly NodeRow[], partitions: number): ClusterView {
  const live = rows.filter((r) => r.exited === undefined && r.sample?.reachable === true);
  return {
    partitions,
    owned: live.reduce((n, r) => n + (r.sample?.metrics.partitionsOwned ?? 0), 0),
    ready: live.filter((r) => r.sample?.ready === true).length,
    nodes: rows.length,
  };
}

export function formatSummary(c: ClusterView, load: LoadStats | undefined, sentPerSecond: number | undefined): string {
  const cluster = `cluster  ${c.owned}/${c.partitions} partitions owned, ${c.ready}/${c.nodes} nodes ready`;
  if (load === undefined) return cluster;
  const rate = sentPerSecond === undefined ? "-" : sentPerSecond.toFixed(0);
  const err = load.errors > 0 && load.lastError !== undefined ? ` (last: ${load.lastError.split("\n")[0]})` : "";
  return (
    `${cluster}; load ${rate} cmd/s: ${load.accepted} accepted, ${load.trades} trades, ${load.cancelled} cancelled, ` +
    `${load.rejected} rejected, ${load.errors} errors${err}${load.skipped > 0 ? `, ${load.skipped} skipped` : ""}`
  );
}

// ---------------------------------------------------------------------------
// Rates

/** Samples a rate is averaged over at most. */
const RATE_SAMPLES_MAX = 16;

/**
 * A counter's rate per second, over at least `windowMs` where the history
 * allows: an extra sample taken just after a regular one (the final one)
 * must not turn a tenth of a second's burst into the rate.
 */
export class RateMeter {
  private readonly samples: { at: number; value: number }[] = [];

  constructor(private readonly windowMs: number) {}

  /** Records `value` at `at`; returns the rate, or undefined before a second sample. */
  observe(at: number, value: number): number | undefined {
    this.samples.push({ at, value });
    if (this.samples.length > RATE_SAMPLES_MAX) this.samples.shift();
    let base: { at: number; value: number } | undefined;
    for (const s of this.samples) if (at - s.at >= this.windowMs) base = s;
    base ??= this.samples[0]!;
    if (base.at >= at) return undefined;
    // A restarted process starts its counters again from zero.
    return Math.max(0, ((value - base.value) * 1_000) / (at - base.at));
  }
}

// ---------------------------------------------------------------------------
// The live board

export interface StatusNode {
  id: string;
  pid: number;
  httpPort: number;
  /** undefined while running, else how it exited. */
  exited: () => string | undefined;
}

export interface StatusOptions {
  nodes: readonly StatusNode[];
  partitions: number;
  load: () => LoadStats | undefined;
  out: NodeJS.WriteStream;
  /** Redraw in place (a terminal) or print a block every statusMsPrint. */
  tty: boolean;
  now?: () => number;
}

export class StatusBoard {
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private drawn = 0;
  private lastPrintMs = 0;
  private readonly commandRates = new Map<string, RateMeter>();
  private readonly loadRate = new RateMeter(devLimits.statusMsInterval);
  private rows: NodeRow[] = [];
  private lines: string[] = [];
  /** The cluster as last sampled. */
  view: ClusterView | undefined;

  constructor(private readonly o: StatusOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  start(): void {
    this.timer = setInterval(() => this.tickAndShow(), devLimits.statusMsInterval);
    this.tickAndShow();
  }

  /** Stops sampling; prints the final state once (in place on a terminal). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  /** Samples now and prints the block regardless of the print interval. */
  async final(): Promise<void> {
    await this.sampling;
    await this.sample();
    this.show(true);
  }

  /** Prints a message above the block (a terminal's block is redrawn below it). */
  note(line: string): void {
    this.clear();
    this.o.out.write(`${line}\n`);
    if (this.o.tty) this.draw();
  }

  private tickAndShow(): void {
    // A slow sample (a node paused) must not pile up requests.
    this.sampling = this.sampling
      .then(async () => {
        await this.sample();
        this.show(false);
      })
      .catch((e: unknown) => this.note(`status: ${e instanceof Error ? e.message : String(e)}`));
  }

  private async sample(): Promise<void> {
    const samples = await Promise.all(this.o.nodes.map((n) => (n.exited() === undefined ? sampleNode(n.httpPort) : Promise.resolve(undefined))));
    const at = this.now();
    this.rows = this.o.nodes.map((n, i) => {
      const sample = samples[i];
      const total = sample?.metrics.commandsTotal;
      let meter = this.commandRates.get(n.id);
      if (meter === undefined) this.commandRates.set(n.id, (meter = new RateMeter(devLimits.statusMsInterval)));
      const commandsPerSecond = total === undefined ? undefined : meter.observe(at, total);
      return { id: n.id, pid: n.pid, exited: n.exited(), sample, commandsPerSecond };
    });
    this.view = summarize(this.rows, this.o.partitions);
    const load = this.o.load();
    const sentPerSecond = load === undefined ? undefined : this.loadRate.observe(at, load.sent);
    this.lines = [...this.rows.map(formatNodeRow), formatSummary(this.view, load, sentPerSecond)];
  }

  private show(force: boolean): void {
    if (this.o.tty) {
      this.clear();
      this.draw();
      return;
    }
    const at = this.now();
    if (!force && at - this.lastPrintMs < devLimits.statusMsPrint) return;
    this.lastPrintMs = at;
    const stamp = new Date(at).toISOString().slice(11, 19);
    this.o.out.write(this.lines.map((l) => `[${stamp}] ${l}\n`).join(""));
  }

  private draw(): void {
    // A wrapped line would break the count of lines to move back over.
    const width = this.o.out.columns ?? 0;
    const fit = (l: string): string => (width > 1 && l.length >= width ? `${l.slice(0, width - 2)}…` : l);
    this.o.out.write(this.lines.map((l) => `\x1b[2K${fit(l)}\n`).join(""));
    this.drawn = this.lines.length;
  }

  /** Moves the cursor back over the drawn block and erases it. */
  private clear(): void {
    if (!this.o.tty || this.drawn === 0) return;
    this.o.out.write(`\x1b[${this.drawn}F\x1b[0J`);
    this.drawn = 0;
  }
}
