/** @bourse/node — the Bourse cluster node, the publisher client, and the CLI. */
export { fnv1a32, fnv1a32Bytes, partitionOf, PARTITIONS_MAX, PARTITION_TEST_VECTORS, InvalidPartitionCountError } from "./partitioning.js";
export { initialAssignment, rebalance, diff, loadCap, hrwScore, partitionsOf, loadsOf, AssignmentError, type Assignment } from "./assignment.js";
export * from "./protocol.js";
export { BourseNode } from "./bourse-node.js";
export { resolveConfig, validateConfig, defaultNodeConfig, ConfigError, isConfigError, type NodeConfig, type NodeConfigInput } from "./config.js";
export { provision, readClusterConfig, ProvisionError, ClusterConfigMismatchError, type ClusterHandles, type ClusterConfig } from "./provision.js";
export { connectNats, NatsConnectError } from "./connection.js";
export * from "./verify/index.js";
export * from "./client/index.js";
export { NODE_V8_FLAGS } from "./v8-flags.js";
