import { test } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError, activeTestSwitches, defaultNodeConfig, resolveConfig, validateConfig, type NodeConfig, type NodeConfigInput } from "../src/config.js";

/** Asserts that `input` is refused with a ConfigError naming `field`. */
function refused(input: NodeConfigInput, field: string, message?: RegExp): ConfigError {
  try {
    resolveConfig(input);
  } catch (e) {
    assert.instance(e, ConfigError, `expected ConfigError for ${field}, got ${String(e)}`);
    const err = e as ConfigError;
    assert.is(err.field, field);
    assert.is(err.name, "ConfigError");
    assert.is(err.code, "config_invalid");
    assert.ok(err.message.startsWith(`config.${field} `), err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.unreachable(`config accepted but ${field} should be refused: ${JSON.stringify(input)}`);
  throw new Error("unreachable");
}

test("defaults are the documented values and validate", () => {
  validateConfig(defaultNodeConfig as NodeConfig);
  const cfg = resolveConfig();
  assert.equal(
    { ...cfg, engine: undefined },
    {
      ...defaultNodeConfig,
      engine: undefined,
    },
  );
  assert.is(cfg.replicas, 1);
  assert.is(cfg.partitions, 64);
  assert.is(cfg.httpPort, 9464);
  assert.is(cfg.heartbeatMsInterval, 100);
  assert.is(cfg.failureMsTimeout, 600);
  assert.is(cfg.snapshotCommandsEvery, 10_000);
  assert.is(cfg.snapshotMsEvery, 5_000);
  assert.is(cfg.batchEventsMax, 1_000);
  assert.is(cfg.batchBytesMax, 512 * 1024);
  assert.is(cfg.flushMsInterval, 2);
  assert.is(cfg.publishMsTimeout, 2_000);
  assert.is(cfg.partitionRestartsMax, 5);
  assert.is(cfg.restartMsBackoffBase, 100);
  assert.is(cfg.restartMsBackoffMax, 5_000);
  assert.is(cfg.duplicateMsWindow, 120_000);
  assert.is(cfg.rollbackSpillBytes, 1024 * 1024);
  assert.is(cfg.rollbackDir, "");
  assert.is(cfg.production, true);
  assert.equal(cfg.testSwitches, {});
  assert.ok(cfg.engine.terminalOrdersMax > 0 && cfg.engine.idempotencyMax > 0);
});

test("overrides merge into nested objects and do not touch the defaults", () => {
  const cfg = resolveConfig({ id: "n2", engine: { idempotencyMax: 7 }, auth: { token: "t" } });
  assert.is(cfg.id, "n2");
  assert.is(cfg.engine.idempotencyMax, 7);
  assert.is(cfg.engine.terminalOrdersMax, defaultNodeConfig.engine.terminalOrdersMax);
  assert.is(cfg.auth.token, "t");
  assert.equal(defaultNodeConfig.auth, {});
  cfg.servers.push("nats://x:1");
  assert.is(defaultNodeConfig.servers.length, 1);
});

test("every out-of-range number is refused, naming its field", () => {
  const cases: [NodeConfigInput, string][] = [
    [{ replicas: 0 }, "replicas"],
    [{ replicas: 7 }, "replicas"],
    [{ partitions: 0 }, "partitions"],
    [{ partitions: 70_000 }, "partitions"],
    [{ partitions: 1.5 }, "partitions"],
    [{ httpPort: -1 }, "httpPort"],
    [{ httpPort: 70_000 }, "httpPort"],
    [{ heartbeatMsInterval: 1 }, "heartbeatMsInterval"],
    [{ failureMsTimeout: Number.NaN }, "failureMsTimeout"],
    [{ snapshotCommandsEvery: 0 }, "snapshotCommandsEvery"],
    [{ snapshotMsEvery: 10 }, "snapshotMsEvery"],
    [{ batchEventsMax: 0 }, "batchEventsMax"],
    [{ batchBytesMax: 100 }, "batchBytesMax"],
    [{ flushMsInterval: -1 }, "flushMsInterval"],
    [{ publishMsTimeout: 0 }, "publishMsTimeout"],
    [{ partitionRestartsMax: -1 }, "partitionRestartsMax"],
    [{ restartMsBackoffBase: 0 }, "restartMsBackoffBase"],
    [{ duplicateMsWindow: 10 }, "duplicateMsWindow"],
    [{ rollbackSpillBytes: -1 }, "rollbackSpillBytes"],
    [{ engine: { terminalOrdersMax: -5 } }, "engine.terminalOrdersMax"],
    [{ engine: { idempotencyMax: 0.5 } }, "engine.idempotencyMax"],
    [{ replicas: "3" as unknown as number }, "replicas"],
  ];
  for (const [input, field] of cases) refused(input, field);
  refused({ replicas: 9 }, "replicas", /between 1 and 5, got 9/);
  refused({ engine: { idempotencyMax: 0 } }, "engine.idempotencyMax", /between 1 and 100000000, got 0/);
});

test("identity and servers are checked", () => {
  refused({ id: "" }, "id");
  refused({ id: "a.b" }, "id", /letters, digits/);
  refused({ id: "x".repeat(65) }, "id");
  refused({ servers: [] }, "servers", /at least one/);
  refused({ servers: ["nats://a:1", "nats://b:1,nats://c:1"] }, "servers[1]");
  refused({ servers: ["nats://a:1", ""] }, "servers[1]");
  refused({ rollbackDir: 5 as unknown as string }, "rollbackDir");
});

test("limits that depend on each other are checked together", () => {
  refused({ heartbeatMsInterval: 300, failureMsTimeout: 600 }, "failureMsTimeout", /3 × heartbeatMsInterval \(900\)/);
  resolveConfig({ heartbeatMsInterval: 200, failureMsTimeout: 600 });
  refused({ restartMsBackoffBase: 1_000, restartMsBackoffMax: 500 }, "restartMsBackoffMax", /restartMsBackoffBase \(1000\)/);
});

test("auth: one method at a time, pairs complete", () => {
  resolveConfig({ auth: { user: "u", pass: "p" } });
  resolveConfig({ auth: { token: "t", tls: { caFile: "/ca.pem" } } });
  resolveConfig({ auth: { credsFile: "/x.creds", tls: { certFile: "/c.pem", keyFile: "/k.pem" } } });
  refused({ auth: { user: "u" } }, "auth.pass");
  refused({ auth: { pass: "p" } }, "auth.user");
  refused({ auth: { user: "u", pass: "p", token: "t" } }, "auth", /user\/pass and token/);
  refused({ auth: { token: "t", credsFile: "/x" } }, "auth");
  refused({ auth: { token: "" } }, "auth.token");
  refused({ auth: { tls: { certFile: "/c.pem" } } }, "auth.tls.keyFile");
  refused({ auth: { tls: { keyFile: "/k.pem" } } }, "auth.tls.certFile");
});

test("test switches are refused in production and allowed outside it", () => {
  for (const s of ["noOutputFencing", "noOutputSuppression", "noIdempotency"] as const) {
    refused({ testSwitches: { [s]: true } }, `testSwitches.${s}`, /refused with production: true/);
    const cfg = resolveConfig({ production: false, testSwitches: { [s]: true } });
    assert.equal(activeTestSwitches(cfg.testSwitches), [s]);
  }
  refused({ testSwitches: { poisonCmdIdPrefix: "poison-" } }, "testSwitches.poisonCmdIdPrefix", /test switch/);
  resolveConfig({ production: false, testSwitches: { poisonCmdIdPrefix: "poison-" } });
  // A switch that is present but off is no switch at all.
  resolveConfig({ testSwitches: { noOutputFencing: false } });
  refused({ production: false, testSwitches: { poisonCmdIdPrefix: "" } }, "testSwitches.poisonCmdIdPrefix");
  refused({ production: "yes" as unknown as boolean }, "production");
});

test.run();
