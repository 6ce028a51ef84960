/**
 * A broken guarantee, named with what is needed to find it: the check, the
 * partition, and where known the output seq, the input (command log) seq and
 * the cmdId.
 */
export interface Violation {
  check: ViolationCheck;
  partition: number;
  detail: string;
  seq?: number;
  inSeq?: number;
  cmdId?: string;
}

/**
 * Every kind of violation and the invariant it breaks (the numbering of
 * docs/simulation.md):
 *  1. every acknowledged command has exactly one outcome;
 *  2. no trade is reported twice, no execution report contradicts the durable output;
 *  3. per market bought = sold, no order fills beyond its quantity;
 *  4. each partition's state equals the reference model's replay of its command log;
 *  5. output sequences have no gap and no duplicate.
 */
export const VIOLATION_INVARIANT = {
  acked_not_logged: 1,
  no_outcome: 1,
  applied_twice: 1,
  duplicate_trade: 2,
  report_mismatch: 2,
  overfill: 3,
  bought_sold: 3,
  trade_side: 3,
  remaining_mismatch: 3,
  model_mismatch: 4,
  output_length: 4,
  state_mismatch: 4,
  output_sequence: 5,
  drain_timeout: 5,
} as const;

export type ViolationCheck = keyof typeof VIOLATION_INVARIANT;

/** One line naming the violation: "[4 model_mismatch] partition 3 seq 17 inSeq 120 cmd c-7-9: …". */
export function describeViolation(v: Violation): string {
  const where = [`partition ${v.partition}`];
  if (v.seq !== undefined) where.push(`seq ${v.seq}`);
  if (v.inSeq !== undefined) where.push(`inSeq ${v.inSeq}`);
  if (v.cmdId !== undefined) where.push(`cmd ${v.cmdId}`);
  return `[${VIOLATION_INVARIANT[v.check]} ${v.check}] ${where.join(" ")}: ${v.detail}`;
}
