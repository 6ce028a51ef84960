import { LRUCache } from "lru-cache";
import type { EngineEvent } from "@bourse/engine";
import type { ReportMessage } from "../protocol.js";

/** A report without its events, in the wire order of ReportMessage's fields. */
export type ReportHead = Omit<ReportMessage, "events">;

/** Accounts whose last report sequence a partition remembers for gap detection. */
const ACCOUNTS_TRACKED_MAX = 100_000;

/**
 * Splits a durable batch into execution reports per account (a trade goes to both
 * sides) and market data per market, and keeps each account's previous sequence
 * so clients can detect gaps (protocol.ts, ReportMessage.prevSeq).
 */
export class ReportFanout {
  private readonly lastByAccount = new LRUCache<string, number>({
    // Bounded by size (1 per account), not by `max`: lru-cache allocates its arrays for
    // `max` entries up front (15 ms for 100,000), once per partition a node takes over;
    // that was a third of a survivor's CPU during a failover (bourse bench failover).
    maxSize: ACCOUNTS_TRACKED_MAX,
    sizeCalculation: () => 1,
    // Once an account is forgotten, "never seen" no longer means "no events": say unknown.
    dispose: (_v, _k, reason) => {
      if (reason === "evict") this.fresh = false;
    },
  });

  /** @param fresh the partition starts from nothing: unknown accounts had no events (0), not "unknown" (-1). */
  constructor(
    private readonly partition: number,
    private fresh: boolean,
  ) {}

  /**
   * Who gets which events of a durable batch, as indexes into `events` (the caller has
   * each event packed once): every report's header fields, its account's events, and
   * each market's market-data events.
   */
  split(events: readonly EngineEvent[], streamSeq: number): { reports: Map<string, { head: ReportHead; events: number[] }>; marketData: Map<string, number[]> } {
    const byAccount = new Map<string, number[]>();
    const marketData = new Map<string, number[]>();
    const add = (m: Map<string, number[]>, k: string, i: number) => {
      const l = m.get(k);
      if (l) l.push(i);
      else m.set(k, [i]);
    };
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.type === "trade") {
        add(byAccount, e.makerAccount, i);
        if (e.takerAccount !== e.makerAccount) add(byAccount, e.takerAccount, i);
        add(marketData, e.market, i);
      } else if (e.type === "l2") {
        add(marketData, e.market, i);
      } else if (e.type === "market") {
        add(marketData, e.spec.symbol, i);
      } else {
        add(byAccount, e.account, i);
      }
    }
    const first = events[0]!.seq;
    const last = events[events.length - 1]!.seq;
    const reports = new Map<string, { head: ReportHead; events: number[] }>();
    for (const [account, list] of byAccount) {
      const prevSeq = this.lastByAccount.get(account) ?? (this.fresh ? 0 : -1);
      this.lastByAccount.set(account, events[list[list.length - 1]!]!.seq);
      reports.set(account, { head: { partition: this.partition, streamSeq, firstSeq: first, lastSeq: last, prevSeq }, events: list });
    }
    return { reports, marketData };
  }
}
