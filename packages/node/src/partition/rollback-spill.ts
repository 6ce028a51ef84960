import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PartitionEngine } from "@bourse/engine";

/** Directories this module creates are named `bourse-rollback-<pid>-<random>`. */
const DIR_PREFIX = "bourse-rollback-";
const DIR_RE = /^bourse-rollback-(\d+)-/;

/**
 * Where a node keeps its partitions' rollback points once they are big (ADR 0001,
 * docs/operations.md "Memory"): the engine's checkpoint is the last snapshot's bytes,
 * as large as the partition's state (98 MB at a million resting orders). Once a
 * snapshot is durable, the runner writes its bytes here and the engine drops them
 * (`PartitionEngine.spillCheckpoint`); only a command whose handler throws reads them
 * back. The files matter only to this process: one private directory per process,
 * removed by `close`; directories of processes that are gone are removed when the
 * next node on the machine opens its own.
 */
export class RollbackSpill {
  private files = 0;

  private constructor(
    readonly dir: string,
    /** Snapshots smaller than this stay the engine's rollback point in memory (NodeConfig.rollbackSpillBytes). */
    readonly minBytes: number,
  ) {}

  /**
   * A new private directory under `root` (the OS temp dir when empty) for snapshots of at
   * least `minBytes` (≥ 1); sweeps dead nodes' leftovers.
   */
  static open(root: string, minBytes: number): RollbackSpill {
    const parent = root === "" ? tmpdir() : root;
    sweepLeftovers(parent);
    return new RollbackSpill(mkdtempSync(join(parent, `${DIR_PREFIX}${process.pid}-`)), Math.max(1, minBytes));
  }

  /** The files of one partition runner: each write replaces the previous one. */
  forPartition(p: number): PartitionSpill {
    return new PartitionSpill(p, this.minBytes, () => join(this.dir, `p${p}-${++this.files}.snap`));
  }

  /** Removes the directory and everything in it. */
  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class PartitionSpill {
  private current: string | null = null;
  /** Writes run one after another, in the order they were asked for (snapshot order). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly partition: number,
    private readonly minBytes: number,
    private readonly nextPath: () => string,
  ) {}

  /**
   * Moves `engine`'s rollback point out of memory when it is the snapshot `bytes` and
   * they are big enough: writes them, then `engine.spillCheckpoint`. True when spilled.
   */
  async spillFrom(engine: PartitionEngine, bytes: Uint8Array): Promise<boolean> {
    if (bytes.length < this.minBytes) return false;
    const load = await this.write(bytes);
    return engine.spillCheckpoint(bytes, load);
  }

  /**
   * Writes `bytes` to a new file (complete before it gets its name) and removes the
   * previous one; returns the loader to give the engine: it reads the file back. Writes
   * are queued: a later snapshot's file never precedes an earlier one's, so the file
   * removed is always one the engine has moved past.
   */
  write(bytes: Uint8Array): Promise<() => Uint8Array> {
    const done = this.queue.then(() => this.writeNow(bytes));
    this.queue = done.catch(() => {});
    return done;
  }

  private async writeNow(bytes: Uint8Array): Promise<() => Uint8Array> {
    const path = this.nextPath();
    await writeFile(`${path}.tmp`, bytes);
    await rename(`${path}.tmp`, path);
    const previous = this.current;
    this.current = path;
    if (previous !== null) await rm(previous, { force: true });
    return () => readFileSync(path);
  }

  /** The runner is done with its engine: its file goes. */
  async discard(): Promise<void> {
    await this.queue;
    const path = this.current;
    this.current = null;
    if (path !== null) await rm(path, { force: true });
  }
}

/** Removes `bourse-rollback-<pid>-*` directories whose process no longer runs. */
function sweepLeftovers(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return; // mkdtemp will name the problem
  }
  for (const name of names) {
    const m = DIR_RE.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
