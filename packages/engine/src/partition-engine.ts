import { Checkpoint } from "./checkpoint.js";
import { dispatch } from "./dispatcher.js";
import { PartitionCorruptedError, SequenceError, SnapshotInProgressError } from "./errors.js";
import { Journal, JournaledRejection } from "./journal.js";
import { defaultEngineOptions, type EngineOptions } from "./limits.js";
import { PartitionState } from "./partition-state.js";
import { Runtime, type Addressee } from "./runtime.js";
import { decodeSnapshot, decodeSnapshotInSlices, encodeSnapshotInSlices, snapshotMeta, snapshotUnits } from "./snapshot.js";
import { runToEnd } from "./slices.js";
import { describeError, type Alert, type DeadLetter } from "./supervision.js";
import type { Command, EngineEvent, OrderView, RejectCode } from "./types.js";

/** Snapshot bytes kept outside the engine, read back by a rollback. */
class SpilledCheckpoint {
  constructor(
    private readonly load: () => Uint8Array,
    private readonly partition: number,
    private readonly lastInSeq: number,
    private readonly length: number,
  ) {}

  restore(terminalOrdersMax: number, idempotencyMax: number): PartitionState {
    let state: PartitionState;
    try {
      const bytes = this.load();
      if (bytes.length !== this.length) throw new Error(`${bytes.length} bytes read back, ${this.length} spilled`);
      state = decodeSnapshot(bytes, terminalOrdersMax, idempotencyMax);
    } catch (e) {
      throw new PartitionCorruptedError(`partition ${this.partition}: spilled rollback point unreadable`, { cause: e });
    }
    if (state.partition !== this.partition || state.lastInSeq !== this.lastInSeq)
      throw new PartitionCorruptedError(
        `partition ${this.partition}: spilled rollback point holds partition ${state.partition} at input ${state.lastInSeq}, not ${this.lastInSeq}`,
      );
    return state;
  }
}

/** A command the node could not decode, still answered in sequence. */
export interface InputRejection extends Addressee {
  orderId: number;
  code: RejectCode;
  message: string;
}

export type PartitionEngineOptions = Partial<EngineOptions> & { partition: number; adminAccount?: string };

export interface BookLevel {
  price: number;
  qty: number;
  orders: number;
}

/**
 * One partition's engine and its first-level supervisor. Each command is
 * applied atomically: its events are returned only if its handler completed.
 * A handler that throws is rolled back to the last committed state (checkpoint
 * plus journal replay) and retried; after `commandAttemptsMax` failures the
 * command is rejected as `internal_error`, dead-lettered and alerted, and the
 * partition goes on.
 */
export class PartitionEngine {
  readonly options: EngineOptions;
  private readonly adminAccount: string;
  private state: PartitionState;
  private readonly rt: Runtime;
  /**
   * The last committed state to roll back to: the last snapshot's bytes, an image the
   * engine took, or those bytes kept outside the process (`spillCheckpoint`).
   */
  private checkpoint: Uint8Array | Checkpoint | SpilledCheckpoint;
  /**
   * The engine's own checkpoint image, retaken in place each time (see record). Dropped
   * while snapshot bytes are the checkpoint: it holds a reference to every resting order
   * and a copy of the idempotency index (at 1M resting orders, tens of MB).
   */
  private image: Checkpoint | null;
  private readonly journal = new Journal();
  /** A sliced snapshot is being encoded: the state must not change. */
  private encoding = false;
  /** Size of the last snapshot per `snapshotUnits`: the next one's buffer is sized from it. */
  private snapshotBytesPerUnit = 0;
  private deadLetters: DeadLetter[] = [];
  private alerts: Alert[] = [];

  /**
   * @param state the state to start from (a new, empty one if absent)
   * @param snapshotBytes the snapshot `state` was decoded from: it becomes the first
   *   checkpoint, instead of an image of `state` (which, restoring 300,000 orders, took
   *   a sixth of the restore's time to capture and was then thrown away)
   */
  constructor(opts: PartitionEngineOptions, state?: PartitionState, snapshotBytes?: Uint8Array) {
    this.options = { ...defaultEngineOptions, ...opts };
    this.adminAccount = opts.adminAccount ?? "admin";
    this.state = state ?? new PartitionState(opts.partition, this.options.terminalOrdersMax, this.options.idempotencyMax);
    this.state.repeatsAllowed = this.options.testNoIdempotency === true;
    this.rt = new Runtime(this.state, this.options.marketData);
    this.image = snapshotBytes !== undefined && state !== undefined ? null : new Checkpoint(this.state);
    this.checkpoint = this.image ?? snapshotBytes!;
  }

  /** Rebuilds an engine from snapshot bytes (throws SnapshotError when they are bad); they are its first checkpoint. */
  static restore(bytes: Uint8Array, opts: PartitionEngineOptions): PartitionEngine {
    return runToEnd(PartitionEngine.restoreInSlices(bytes, opts, Number.POSITIVE_INFINITY));
  }

  /** `restore` in slices of about `unitsPerSlice` orders and outcomes (decodeSnapshotInSlices); returns the engine. */
  static *restoreInSlices(bytes: Uint8Array, opts: PartitionEngineOptions, unitsPerSlice: number): Generator<void, PartitionEngine> {
    const o = { ...defaultEngineOptions, ...opts };
    const state = yield* decodeSnapshotInSlices(bytes, o.terminalOrdersMax, o.idempotencyMax, unitsPerSlice);
    return new PartitionEngine(opts, state, bytes);
  }

  get partition(): number {
    return this.state.partition;
  }
  /** Input sequence of the last command applied (0 before any). */
  get lastInSeq(): number {
    return this.state.lastInSeq;
  }
  /** Output sequence of the last event emitted (0 before any). */
  get lastSeq(): number {
    return this.state.seq;
  }
  get restingOrders(): number {
    return this.state.restingOrders;
  }
  /** What a snapshot of this state encodes (resting and terminal orders, remembered outcomes): its cost scales with it. */
  get snapshotUnits(): number {
    return snapshotUnits(this.state);
  }
  /** Log time at which the next GTD order expires, if any rests: the node sends a `tick` then. */
  get nextExpiry(): number | undefined {
    const o = this.state.expiry.peek();
    return o < 0 ? undefined : this.state.store.expireAt(o);
  }

  /** Applies one command from the log. `inSeq` must increase; `ts` is its log time (ms). */
  apply(cmd: Command, inSeq: number, ts: number): EngineEvent[] {
    this.checkSequence(inSeq);
    for (let attempt = 1; ; attempt++) {
      try {
        const out = this.run(cmd, inSeq, ts, attempt);
        this.record(cmd, inSeq, ts);
        return out;
      } catch (e) {
        this.rollback();
        if (attempt >= this.options.commandAttemptsMax) return this.quarantine(cmd, inSeq, ts, e, attempt);
      }
    }
  }

  /** Answers an input the node could not decode with a sequenced rejection. */
  reject(inSeq: number, ts: number, r: InputRejection): EngineEvent[] {
    this.checkSequence(inSeq);
    const out = this.runRejection(r, inSeq, ts);
    this.record(new JournaledRejection(r), inSeq, ts);
    return out;
  }

  /** A resident order (resting, or terminal and not yet passivated). Never changes state. */
  query(market: string, orderId: number): OrderView | undefined {
    const s = this.state;
    const o = s.liveOrder(orderId);
    const v = o >= 0 ? s.store.view(o) : s.terminal.view(orderId);
    return v?.market === market ? v : undefined;
  }

  /** Aggregated book, best levels first. */
  depth(market: string, levelsMax = 10): { bids: BookLevel[]; asks: BookLevel[] } | undefined {
    const book = this.state.markets.get(market);
    if (!book) return undefined;
    const take = (side: typeof book.bids): BookLevel[] => {
      const out: BookLevel[] = [];
      for (const l of side.bestFirst()) {
        if (out.length >= levelsMax) break;
        out.push({ price: l.price, qty: l.total, orders: l.count });
      }
      return out;
    };
    return { bids: take(book.bids), asks: take(book.asks) };
  }

  hasMarket(market: string): boolean {
    return this.state.markets.has(market);
  }

  markets(): string[] {
    return [...this.state.markets.keys()];
  }

  /** Serializes the committed state; the bytes also become the rollback checkpoint. */
  snapshot(): Uint8Array {
    return runToEnd(this.snapshotInSlices(Number.POSITIVE_INFINITY));
  }

  /**
   * `snapshot()` in slices of about `unitsPerSlice` orders and outcomes: the generator
   * yields between slices and returns the bytes. Until it returns (or is abandoned with
   * `return()`), `apply` and `reject` throw SnapshotInProgressError: the state must not
   * change under the encoder. Queries are fine.
   */
  *snapshotInSlices(unitsPerSlice: number): Generator<void, Uint8Array> {
    if (this.encoding) throw new SnapshotInProgressError(`partition ${this.state.partition}: a snapshot is already being encoded`);
    this.encoding = true;
    let bytes: Uint8Array;
    try {
      // Sized from the previous snapshot (bytes per order and outcome) with a little room.
      const units = snapshotUnits(this.state) + 1;
      const hint = this.snapshotBytesPerUnit > 0 ? Math.ceil(units * this.snapshotBytesPerUnit * 1.04) + 1024 : undefined;
      bytes = yield* encodeSnapshotInSlices(this.state, hint, unitsPerSlice);
      this.snapshotBytesPerUnit = bytes.length / units;
    } finally {
      this.encoding = false;
    }
    this.checkpoint = bytes;
    this.image = null;
    this.journal.clear();
    return bytes;
  }

  /**
   * The bytes of the last snapshot are kept elsewhere (a file, say) and `load` reads them
   * back: the engine drops its reference to them, so that its rollback point costs no
   * memory. Only a failing command calls `load`, synchronously; if it throws, or returns
   * other bytes than a snapshot of this partition at this input sequence, the rollback
   * fails with PartitionCorruptedError (the node then restarts the partition from its
   * durable snapshot and log). Does nothing, and returns false, unless `bytes` are still
   * the checkpoint (a later snapshot or image replaced them).
   */
  spillCheckpoint(bytes: Uint8Array, load: () => Uint8Array): boolean {
    if (this.checkpoint !== bytes) return false;
    const { partition, lastInSeq } = snapshotMeta(bytes);
    this.checkpoint = new SpilledCheckpoint(load, partition, lastInSeq, bytes.length);
    return true;
  }

  /** Where the rollback point lives now (for metrics and tests). */
  get checkpointKind(): "bytes" | "image" | "spilled" {
    const c = this.checkpoint;
    return c instanceof Checkpoint ? "image" : c instanceof SpilledCheckpoint ? "spilled" : "bytes";
  }

  /** Checks every book's internal invariants (throws AssertionError). */
  check(): void {
    let resting = 0;
    for (const b of this.state.markets.values()) {
      b.check(this.state.store);
      resting += b.resting;
    }
    const s = this.state;
    if (resting !== s.restingOrders || resting !== s.store.size)
      throw new PartitionCorruptedError(`resting ${resting} != indexed ${s.restingOrders} (${s.store.size} live in the store)`);
  }

  drainDeadLetters(): DeadLetter[] {
    const d = this.deadLetters;
    this.deadLetters = [];
    return d;
  }

  drainAlerts(): Alert[] {
    const a = this.alerts;
    this.alerts = [];
    return a;
  }

  private checkSequence(inSeq: number): void {
    if (this.encoding) throw new SnapshotInProgressError(`partition ${this.state.partition}: input ${inSeq} arrived while a snapshot is being encoded`);
    if (!Number.isSafeInteger(inSeq) || inSeq <= this.state.lastInSeq)
      throw new SequenceError(`input sequence ${inSeq} is not after ${this.state.lastInSeq}`);
  }

  private run(cmd: Command, inSeq: number, ts: number, attempt: number): EngineEvent[] {
    const rt = this.rt;
    const hook = attempt > 0 ? this.options.faultHook : undefined;
    rt.begin(inSeq, ts);
    dispatch(rt, cmd, this.adminAccount, hook, attempt, this.options.testNoIdempotency !== true);
    rt.end();
    return this.commit(inSeq);
  }

  private runRejection(r: InputRejection, inSeq: number, ts: number): EngineEvent[] {
    this.rt.begin(inSeq, ts);
    // Undecodable input may lack a cmdId or reuse a known one: answer it, remember nothing new.
    const fresh = r.cmdId !== "" && this.state.outcomeOf(r.cmdId) === undefined;
    this.rt.reject(r, r.orderId, r.code, r.message, fresh);
    return this.commit(inSeq);
  }

  private commit(inSeq: number): EngineEvent[] {
    const out = this.rt.events();
    // The runtime numbered the events from state.seq as it emitted them.
    this.state.seq += out.length;
    this.state.lastInSeq = inSeq;
    return out;
  }

  private record(input: Command | JournaledRejection, inSeq: number, ts: number): void {
    this.journal.push(input, inSeq, ts);
    const s = this.state;
    const resident = s.restingOrders + s.terminal.size + s.rememberedCommands;
    if (this.journal.length < Math.max(this.options.checkpointCommandsMax, resident)) return;
    // An image rather than snapshot bytes: the same state, an order of magnitude cheaper to take.
    this.image = this.image ? this.image.capture(s) : new Checkpoint(s);
    this.checkpoint = this.image;
    this.journal.clear();
  }

  /** Back to the last committed state: the checkpoint, then the journal replayed. */
  private rollback(): void {
    const { terminalOrdersMax, idempotencyMax } = this.options;
    const c = this.checkpoint;
    this.state = c instanceof Uint8Array ? decodeSnapshot(c, terminalOrdersMax, idempotencyMax) : c.restore(terminalOrdersMax, idempotencyMax);
    this.state.repeatsAllowed = this.options.testNoIdempotency === true;
    this.rt.state = this.state;
    try {
      this.journal.replay(
        (cmd, inSeq, ts) => this.run(cmd, inSeq, ts, 0),
        (r, inSeq, ts) => this.runRejection(r, inSeq, ts),
      );
    } catch (e) {
      throw new PartitionCorruptedError(`partition ${this.state.partition}: journal replay failed`, { cause: e });
    }
  }

  private quarantine(cmd: Command, inSeq: number, ts: number, e: unknown, attempts: number): EngineEvent[] {
    const error = describeError(e);
    const market = "market" in cmd && typeof cmd.market === "string" ? cmd.market : "";
    const orderId = "orderId" in cmd ? cmd.orderId : 0;
    const r: InputRejection = {
      cmdId: cmd.cmdId, account: cmd.account, market, orderId, code: "internal_error",
      message: `command failed ${attempts} times: ${error.message}`,
    };
    const out = this.runRejection(r, inSeq, ts);
    this.record(new JournaledRejection(r), inSeq, ts);
    this.deadLetters.push({ partition: this.state.partition, inSeq, ts, command: cmd, attempts, error });
    this.alerts.push({
      level: "error", partition: this.state.partition, inSeq, cmdId: cmd.cmdId,
      message: `command ${cmd.cmdId} dead-lettered after ${attempts} attempts: ${error.message}`,
    });
    return out;
  }
}
