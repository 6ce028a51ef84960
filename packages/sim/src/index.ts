/** @bourse/sim: the crash simulation behind `bourse sim`. */
export { runSim, type SimConfig, type SimOutcome, type Progress } from "./run-sim.js";
export { summarize, percentile, type SimSummary } from "./summary.js";
export { renderReport } from "./render.js";
export { faultSchedule, nodeUpFraction, partitionAvailability, describeFaultCounts, DEFAULT_MIX, type FaultModel, type FaultMix, type ScheduledFault, type NodeFault } from "./fault-schedule.js";
export { Workload, marketNames, marketDefinitions, MIX } from "./workload.js";
export { analyseRecoveries, type Recovery, type RecoveryAnalysis } from "./recovery.js";
export { SimCluster, type SimNode, type ServingEvent } from "./sim-cluster.js";
export { SimError, type SimErrorCode } from "./errors.js";
export { simCommand, simConfig } from "./cli/sim-command.js";
export { simOptions, reproduceCommand, type SimFlags } from "./sim-options.js";
export { rng, substream, exponential } from "./rng.js";
