/** @bourse/engine — the pure, deterministic core of Bourse. */
export * from "./types.js";
export { limits, defaultEngineOptions, type EngineOptions, type FaultHook } from "./limits.js";
export { PartitionEngine, type PartitionEngineOptions, type InputRejection, type BookLevel } from "./partition-engine.js";
export type { DeadLetter, Alert } from "./supervision.js";
export { encodeSnapshot, decodeSnapshot, snapshotMeta, SNAPSHOT_VERSION, type SnapshotMeta } from "./snapshot.js";
export { AssertionError, PartitionCorruptedError, SnapshotError, SnapshotInProgressError, SequenceError, isPartitionCorrupted } from "./errors.js";
export { deriveRules, checkMarketSpec, type MarketRules } from "./market-rules.js";
export type { Rejection } from "./rejection.js";
export {
  decodeCommand, validateCommand, encodeCommand, encodeEvents, decodeEvents, packEvents, joinPackedEvents, encodeWithPackedEvents, encodeValue, decodeValue, type DecodeResult,
} from "./codec.js";
