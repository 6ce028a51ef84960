/**
 * Local processes for tests, the simulation and benchmarks: real `nats-server`
 * processes (one server or a JetStream cluster, on free ports, in temp dirs) and
 * real `bourse node` processes, all stopped by pid and reaped at exit; and the
 * production NATS cluster of deploy/nats run locally (startDeployCluster).
 * Imported as `@bourse/node/local`.
 */
export { FIXTURE_LIMITS, NatsFixtureError, startNatsCluster, startNatsServer } from "./nats-server.js";
export type { NatsClusterHandle, NatsFixtureErrorCode, NatsServerHandle, NatsServerOptions } from "./nats-server.js";
export { DEPLOY_NATS_DIR, DeployConfigError, startDeployCluster } from "./deploy-cluster.js";
export type { DeployClusterHandle, DeployClusterOptions, DeployConfigErrorCode, DeployCredential, DeployCredentials, PublisherCredential } from "./deploy-cluster.js";
export { NodeProcess, type LogLine, type NodeProcessOptions } from "./node-process.js";
export { isTracked, trackChild, trackDir, untrackChild, untrackDir } from "./reaper.js";
