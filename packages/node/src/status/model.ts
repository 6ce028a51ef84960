/**
 * What `bourse status` reports about a cluster, read from NATS alone (never from
 * the nodes' HTTP): the shape of its `--json` output, and what the tables show.
 * Times are ISO 8601 strings as the NATS server stamped them; ages are
 * milliseconds measured against this machine's clock.
 */
import type { ServerVersionWarning } from "../server-version.js";

/** The nats-server this status was read through. */
export interface ServerStatus {
  /** host:port actually connected to. */
  url: string;
  name: string;
  id: string;
  version: string;
  /** The NATS cluster's name, if the server is in one. */
  cluster: string | null;
  /** Version checks of server-version.ts for this server; the others of a NATS cluster are not visible here. */
  warnings: ServerVersionWarning[];
}

export interface StreamStatus {
  name: string;
  messages: number;
  bytes: number;
  replicas: number;
  /** The server leading the stream (replicated streams only). */
  leader: string | null;
  /** Replicas the leader does not see current. */
  laggingReplicas: string[];
}

export interface MemberStatus {
  id: string;
  /** A new heartbeat of it arrived while status watched the bucket, within liveWindowMs (members.ts). */
  live: boolean;
  /** Server time of the member's last heartbeat in bourse_members. */
  lastHeartbeatAt: string;
  /** Now minus lastHeartbeatAt (this machine's clock against the server's; never negative). */
  ageMs: number;
  /** When the member's process started (its own clock), if its record says. */
  startedAt: string | null;
  /** Port of the member's /metrics, /healthz and /readyz, if its record says (null for --http-port 0). */
  httpPort: number | null;
  /** It announced that it is leaving (SIGTERM): handing its partitions off (ADR 0006). */
  leaving: boolean;
}

export interface LeaseStatus {
  owner: string;
  /** The lease key's revision: the fencing epoch of its holder. */
  epoch: number;
  /** Server time of the acquisition. */
  at: string;
}

/** Where a partition's durable output ends, from the last message on bourse.out.<p>. */
export interface OutputStatus {
  streamSeq: number;
  /** Bourse-Last-Seq: last event sequence. */
  lastSeq: number;
  /** Bourse-Last-In-Seq: input sequence of the last command the batch covers. */
  lastInSeq: number;
  /** Bourse-Node and Bourse-Epoch: who wrote it. */
  node: string;
  epoch: number;
  at: string;
}

export interface PartitionStatus {
  partition: number;
  /** Owner in the agreed assignment table; null without a table. */
  assigned: string | null;
  /** Current holder of lease.<p>; null when nobody holds it. */
  lease: LeaseStatus | null;
  /** BOURSE_IN sequence of the partition's last logged command; 0 when none. */
  inSeq: number;
  /**
   * Last input sequence whose output is durable: the larger of the last output
   * batch's Bourse-Last-In-Seq and the newest snapshot's lastInSeq (a snapshot is
   * stored only once its output is durable, and it also covers commands that
   * produced no event).
   */
  durableInSeq: number;
  /** Commands logged for the partition after durableInSeq: logged, no durable output yet. */
  lag: number;
  output: OutputStatus | null;
  /** What disagrees: owner not live, lease held by another member or by nobody. Empty when healthy. */
  problems: string[];
}

export type OwnerChangeKind =
  /** The first holder the lease's history shows. */
  | "first"
  /** Taken over while another member still held it (it had died or been cut off): a failover. */
  | "failover"
  /** Released by its holder (graceful stop, rebalance), then taken by another member. */
  | "handover"
  /** Released, and nobody holds it yet. */
  | "released";

export interface OwnerChange {
  partition: number;
  from: string | null;
  to: string | null;
  kind: OwnerChangeKind;
  /** Server time of the change. */
  at: string;
  /** Revision of the lease key that made the change: the new holder's epoch. */
  epoch: number;
}

export interface AssignmentStatus {
  /** KV revision of bourse_leases key `assignment`. */
  revision: number;
  /** Members the table was computed for. */
  members: string[];
  owners: string[];
  at: string;
}

export interface ClusterStatus {
  /** When the status was read (this machine's clock). */
  at: string;
  server: ServerStatus;
  cluster: { partitions: number; createdAt: string };
  streams: StreamStatus[];
  /** Members with a heartbeat in bourse_members, sorted by id; members that left are gone. */
  members: MemberStatus[];
  /** The failure timeout status applied: a member silent this long (server time) while watched is not live. */
  liveWindowMs: number;
  assignment: AssignmentStatus | null;
  partitions: PartitionStatus[];
  /** Changes of lease holders, newest first. */
  ownerChanges: OwnerChange[];
  /** Revisions bourse_leases keeps per key, which bounds how far back ownerChanges reaches. */
  leaseHistory: number;
  /** Everything that disagrees, one line each (partition problems, no live member, ...). Empty: healthy. */
  problems: string[];
}
