/**
 * The wire contract between publishers, nodes and consumers: subjects, stream and
 * bucket names, headers. docs/protocol.md documents the same for other languages.
 *
 * Tokens: market symbols and account names travel as subject tokens, so they must
 * match TOKEN_RE (no dots, spaces or wildcards); the node rejects a command whose
 * payload names another market or account than its subject.
 */

export const TOKEN_RE = /^[A-Za-z0-9_\-:@~]{1,64}$/;

export const STREAM_IN = "BOURSE_IN";
export const STREAM_OUT = "BOURSE_OUT";
export const STREAM_DLQ = "BOURSE_DLQ";
export const KV_MEMBERS = "bourse_members";
export const KV_LEASES = "bourse_leases";
export const KV_CLUSTER = "bourse_cluster";
export const OBJ_SNAPSHOTS = "bourse_snapshots";

/** Key in KV_CLUSTER holding the cluster's fixed configuration (partition count). */
export const CLUSTER_CONFIG_KEY = "config";
/** Key in KV_LEASES holding the partition assignment table (ADR 0002). */
export const ASSIGNMENT_KEY = "assignment";

export const subjects = {
  /** Durable command log, one subject per partition, market and account. */
  in: (p: number, market: string, account: string) => `bourse.in.${p}.${market}.${account}`,
  inPartition: (p: number) => `bourse.in.${p}.>`,
  inAll: "bourse.in.>",
  /** Convenience for any NATS client; the server maps it to `in` (deploy/nats). */
  cmd: (market: string, account: string) => `bourse.cmd.${market}.${account}`,
  /** Durable, batched output events of one partition. */
  out: (p: number) => `bourse.out.${p}`,
  outAll: "bourse.out.>",
  /** Execution reports for one account, sent after their batch is durable. */
  evt: (account: string) => `bourse.evt.${account}`,
  /** Market data (trades and L2) for one market. */
  md: (market: string) => `bourse.md.${market}`,
  /** Request/reply queries served by the partition's owner. */
  query: (p: number) => `bourse.q.${p}`,
  alert: "bourse.alert",
  /** Each node answers requests here; "no responders" means its connection is gone (liveness.ts). */
  alive: (node: string) => `bourse.node.${node}.alive`,
  /** A partition's successor asks its live previous owner to let go, once prepared (handoff-request.ts). */
  release: (node: string) => `bourse.node.${node}.release`,
  dlq: (p: number) => `bourse.dlq.${p}`,
  dlqAll: "bourse.dlq.>",
} as const;

export const headers = {
  /** JetStream de-duplication: publishers set it to the cmdId. */
  msgId: "Nats-Msg-Id",
  expectedLastSubjectSeq: "Nats-Expected-Last-Subject-Sequence",
  contentType: "Content-Type",
  /** On output batches: first and last event sequence, last input sequence, writer. */
  firstSeq: "Bourse-First-Seq",
  lastSeq: "Bourse-Last-Seq",
  lastInSeq: "Bourse-Last-In-Seq",
  node: "Bourse-Node",
  epoch: "Bourse-Epoch",
} as const;

export const CONTENT_MSGPACK = "application/msgpack";
export const CONTENT_JSON = "application/json";

/** An execution report message on `bourse.evt.<account>`: the account's events from one durable batch. */
export interface ReportMessage {
  partition: number;
  /** Stream sequence of the BOURSE_OUT message holding these events (resume point). */
  streamSeq: number;
  /** First and last event sequence of that whole batch. */
  firstSeq: number;
  lastSeq: number;
  /**
   * Sequence of the previous event for this account in this partition, 0 if there
   * was none, or -1 when the sender does not know (first report after a takeover):
   * a client that saw a different last sequence has a gap and recovers it from
   * BOURSE_OUT, starting after the last streamSeq it saw.
   */
  prevSeq: number;
  /** The account's events (engine events, msgpack maps), in sequence order. */
  events: unknown[];
}
