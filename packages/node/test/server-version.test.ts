import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "@nats-io/transport-node";
import { checkConnectedServer, checkServerVersion, compareVersions, parseServerVersion } from "../src/server-version.js";
import { startNatsServer } from "../src/local/nats-server.js";

const codes = (v: string): string[] => checkServerVersion(v).map((w) => w.code);

test("versions parse, with or without v, prerelease and build", () => {
  assert.equal(parseServerVersion("2.9.10"), { major: 2, minor: 9, patch: 10, prerelease: "" });
  assert.equal(parseServerVersion("v2.10.0-beta.1"), { major: 2, minor: 10, patch: 0, prerelease: "beta.1" });
  assert.equal(parseServerVersion(" 2.11.3+abc "), { major: 2, minor: 11, patch: 3, prerelease: "" });
  assert.is(parseServerVersion("2.9"), undefined);
  assert.is(parseServerVersion(""), undefined);
  assert.is(parseServerVersion("latest"), undefined);
});

test("comparison is numeric per part and a prerelease sorts before its release", () => {
  const v = (s: string) => parseServerVersion(s)!;
  assert.ok(compareVersions(v("2.9.10"), v("2.9.9")) > 0, "10 > 9, not string order");
  assert.ok(compareVersions(v("2.10.0"), v("2.9.21")) > 0);
  assert.ok(compareVersions(v("2.12.0-rc.1"), v("2.12.0")) < 0);
  assert.ok(compareVersions(v("2.12.0-beta.1"), v("2.12.0-rc.1")) < 0);
  assert.is(compareVersions(v("2.12.0"), v("v2.12.0")), 0);
});

test("warnings by version", () => {
  assert.equal(codes("2.9.10"), ["expected_sequence_race", "no_sync_always"]);
  assert.equal(codes("2.9.20"), ["expected_sequence_race", "no_sync_always"]);
  assert.equal(codes("2.9.21"), ["no_sync_always"]);
  assert.equal(codes("2.11.9"), ["no_sync_always"]);
  assert.equal(codes("2.12.0-rc.2"), ["no_sync_always"]);
  assert.equal(codes("2.12.0"), []);
  assert.equal(codes("2.14.1"), []);
  assert.equal(codes("3.0.0"), []);
  assert.equal(codes("nightly"), ["version_unknown"]);
  const [race] = checkServerVersion("2.9.10");
  assert.match(race!.message, /2\.9\.10 is older than 2\.9\.21/);
  assert.is(race!.fixedIn, "2.9.21");
});

test("the connected server's version is read from its INFO", async () => {
  const server = await startNatsServer({ jetstream: false });
  try {
    const nc = await connect({ servers: server.url, reconnect: false });
    try {
      const version = nc.info!.version;
      assert.ok(parseServerVersion(version), `server reports ${version}`);
      assert.equal(checkConnectedServer(nc), checkServerVersion(version));
    } finally {
      await nc.close();
    }
  } finally {
    await server.dispose();
  }
});

test.run();
