/**
 * What the connected nats-server's version means for Bourse's guarantees. The
 * node runs on older servers (Debian ships 2.9.10) but says, at start, which
 * guarantee the server weakens.
 */
import type { NatsConnection } from "@nats-io/transport-node";

export interface ServerVersion {
  major: number;
  minor: number;
  patch: number;
  /** "beta.1" in 2.10.0-beta.1; empty for a release. */
  prerelease: string;
}

export type ServerVersionWarningCode = "version_unknown" | "expected_sequence_race" | "no_sync_always";

export interface ServerVersionWarning {
  code: ServerVersionWarningCode;
  /** The first version without the problem. */
  fixedIn: string;
  message: string;
}

/** Below this, concurrent expected-sequence publishes on R3 streams could both succeed. */
export const EXPECTED_SEQUENCE_SAFE_VERSION = "2.9.21";
/** Below this, `sync_interval: always` does not exist: an acknowledged write may not be fsynced. */
export const SYNC_ALWAYS_VERSION = "2.12.0";

const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses "2.9.10", "v2.10.0-beta.1", "2.11.3+build"; undefined if it is not such a version. */
export function parseServerVersion(version: string): ServerVersion | undefined {
  const m = VERSION_RE.exec(version.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ?? "" };
}

/** Negative if a < b, zero if equal, positive if a > b; a prerelease sorts before its release. */
export function compareVersions(a: ServerVersion, b: ServerVersion): number {
  const d = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (d !== 0) return d;
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === "") return 1;
  if (b.prerelease === "") return -1;
  return a.prerelease < b.prerelease ? -1 : 1;
}

/** The warnings for a server of `version`: none on 2.12 or later. */
export function checkServerVersion(version: string): ServerVersionWarning[] {
  const v = parseServerVersion(version);
  if (v === undefined) {
    return [
      {
        code: "version_unknown",
        fixedIn: SYNC_ALWAYS_VERSION,
        message: `cannot parse nats-server version ${JSON.stringify(version)}; Bourse's guarantees assume ${SYNC_ALWAYS_VERSION} or later`,
      },
    ];
  }
  const warnings: ServerVersionWarning[] = [];
  if (below(v, EXPECTED_SEQUENCE_SAFE_VERSION)) {
    warnings.push({
      code: "expected_sequence_race",
      fixedIn: EXPECTED_SEQUENCE_SAFE_VERSION,
      message:
        `nats-server ${version} is older than ${EXPECTED_SEQUENCE_SAFE_VERSION}: on replicated (R3) streams two concurrent ` +
        `publishes with the same expected last subject sequence could both succeed, weakening output fencing; upgrade`,
    });
  }
  if (below(v, SYNC_ALWAYS_VERSION)) {
    warnings.push({
      code: "no_sync_always",
      fixedIn: SYNC_ALWAYS_VERSION,
      message:
        `nats-server ${version} is older than ${SYNC_ALWAYS_VERSION}: it has no "sync_interval: always", so an ` +
        `acknowledged write may not be fsynced and a power loss on a majority can lose it; upgrade and set sync_interval: always`,
    });
  }
  return warnings;
}

/** The warnings for the server `nc` is connected to now. */
export function checkConnectedServer(nc: NatsConnection): ServerVersionWarning[] {
  return checkServerVersion(nc.info?.version ?? "");
}

function below(v: ServerVersion, min: string): boolean {
  return compareVersions(v, parseServerVersion(min)!) < 0;
}
