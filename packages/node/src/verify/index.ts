/** Checks of a cluster's durable state against the invariants (used by `bourse verify` and the simulation). */
export { checkCluster, type ClusterReport } from "./cluster-check.js";
export { canonical, checkPartition, type PartitionReport } from "./check-partition.js";
export { checkFills } from "./check-fills.js";
export { checkOutcomes, type LoggedCommand } from "./check-outcomes.js";
export { readStream, type LogEntry } from "./durable-log.js";
export { describeViolation, VIOLATION_INVARIANT, type Violation, type ViolationCheck } from "./violation.js";
