import type { InputRejection } from "./partition-engine.js";
import type { Command } from "./types.js";

/** A journaled input the node could not decode (rare: wrapped to tell it from a command). */
export class JournaledRejection {
  constructor(readonly rejection: InputRejection) {}
}

/**
 * The commands applied since the last checkpoint, in order (ADR 0001). It holds
 * references, not copies, in parallel arrays: one push per command and no
 * per-command object, since entries live until the next checkpoint and would
 * otherwise all survive into the old generation.
 */
export class Journal {
  private readonly inputs: (Command | JournaledRejection | undefined)[] = [];
  private readonly inSeqs: number[] = [];
  private readonly tss: number[] = [];
  /** Entries in use; the arrays keep their capacity from checkpoint to checkpoint. */
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(input: Command | JournaledRejection, inSeq: number, ts: number): void {
    const i = this.count++;
    this.inputs[i] = input;
    this.inSeqs[i] = inSeq;
    this.tss[i] = ts;
  }

  clear(): void {
    this.inputs.fill(undefined, 0, this.count); // release the commands
    this.count = 0;
  }

  /** Replays every entry, oldest first. */
  replay(
    command: (cmd: Command, inSeq: number, ts: number) => void,
    rejection: (r: InputRejection, inSeq: number, ts: number) => void,
  ): void {
    for (let i = 0; i < this.count; i++) {
      const input = this.inputs[i]!;
      if (input instanceof JournaledRejection) rejection(input.rejection, this.inSeqs[i]!, this.tss[i]!);
      else command(input, this.inSeqs[i]!, this.tss[i]!);
    }
  }
}
