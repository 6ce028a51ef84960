/** @bourse/node — the Bourse cluster node, the publisher client, and the CLI. */
export { fnv1a32, fnv1a32Bytes, partitionOf, PARTITIONS_MAX, PARTITION_TEST_VECTORS, InvalidPartitionCountError } from "./partitioning.js";
export { initialAssignment, rebalance, diff, loadCap, hrwScore, partitionsOf, loadsOf, AssignmentError, type Assignment } from "./assignment.js";
