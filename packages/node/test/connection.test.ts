import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AuthConfig } from "../src/config.js";
import { ConnectionMonitor, NatsConnectError, connectNats, connectionOptions, type ConnectionState } from "../src/connection.js";
import { startNatsServer, type NatsServerHandle } from "../src/local/nats-server.js";

const run = promisify(execFile);

async function withServer(config: string, fn: (s: NatsServerHandle) => Promise<void>): Promise<void> {
  const server = await startNatsServer({ jetstream: false, config });
  try {
    await fn(server);
  } finally {
    await server.dispose();
  }
}

/** Connects, checks the round trip works, closes. */
async function connectsWith(servers: string[], auth: AuthConfig): Promise<void> {
  const nc = await connectNats({ servers, auth }, "test");
  try {
    await nc.flush();
    assert.not.ok(nc.isClosed());
  } finally {
    await nc.close();
  }
}

async function refusedWith(servers: string[], auth: AuthConfig, code: NatsConnectError["code"]): Promise<NatsConnectError> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats({ servers, auth }, "test");
  } catch (e) {
    assert.instance(e, NatsConnectError, String(e));
    const err = e as NatsConnectError;
    assert.is(err.name, "NatsConnectError");
    assert.is(err.code, code, `${err.code}: ${err.message}`);
    for (const s of servers) assert.ok(err.message.includes(s), `message names ${s}: ${err.message}`);
    assert.equal(err.servers, servers);
    return err;
  }
  await nc.close();
  assert.unreachable(`connected with ${JSON.stringify(auth)}`);
  throw new Error("unreachable");
}

test("options: reconnect forever, name, servers", async () => {
  const o = await connectionOptions({ servers: ["nats://a:1", "nats://b:2"], auth: { user: "u", pass: "p" } }, "bourse-n1");
  assert.is(o.maxReconnectAttempts, -1);
  assert.is(o.name, "bourse-n1");
  assert.equal(o.servers, ["nats://a:1", "nats://b:2"]);
  assert.is(o.user, "u");
  assert.is(o.pass, "p");
  assert.ok((o.reconnectTimeWait ?? 0) > 0);
});

test("user and password: right ones connect, a wrong password is a typed auth error", async () => {
  await withServer(`authorization { user: bourse, password: "s3cret" }`, async (s) => {
    await connectsWith([s.url], { user: "bourse", pass: "s3cret" });
    const err = await refusedWith([s.url], { user: "bourse", pass: "wrong" }, "auth_failed");
    assert.ok(err.cause instanceof Error, "keeps nats.js's error as cause");
    assert.match(err.message, /^cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: /);
    await refusedWith([s.url], {}, "auth_failed");
  });
});

test("token: the right one connects, a wrong one is refused", async () => {
  await withServer(`authorization { token: "t0ken-abc" }`, async (s) => {
    await connectsWith([s.url], { token: "t0ken-abc" });
    await refusedWith([s.url], { token: "nope" }, "auth_failed");
  });
});

test("no server listening is 'unreachable' and names every server", async () => {
  const ports = await freePorts(2);
  const servers = ports.map((p) => `nats://127.0.0.1:${p}`);
  await refusedWith(servers, {}, "unreachable");
});

test("an unreadable credentials file is a typed error before any connection", async () => {
  const err = await refusedWith(["nats://127.0.0.1:1"], { credsFile: "/nonexistent/bourse.creds" }, "bad_credentials_file");
  assert.match(err.message, /\/nonexistent\/bourse\.creds/);
});

test("TLS with a throwaway CA: mutual TLS connects; an untrusted server certificate is refused", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bourse-tls-"));
  try {
    const f = await makeCertificates(dir);
    const config = `tls { cert_file: ${JSON.stringify(f.serverCert)}, key_file: ${JSON.stringify(f.serverKey)}, ca_file: ${JSON.stringify(f.ca)}, verify: true, timeout: 2 }`;
    await withServer(config, async (s) => {
      const url = `tls://127.0.0.1:${s.port}`;
      await connectsWith([url], { tls: { caFile: f.ca, certFile: f.clientCert, keyFile: f.clientKey } });
      const err = await refusedWith([url], { tls: { certFile: f.clientCert, keyFile: f.clientKey } }, "tls_failed");
      assert.match(err.message, /unable to verify/);
      // Not tested: no client certificate. Under TLS 1.3 the server rejects it after the client's
      // handshake is done, and nats.js then waits out its connect timeout ("timeout", 5 s).
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("ConnectionMonitor follows a server restart and the close", async () => {
  await withServer("", async (s) => {
    const nc = await connectNats({ servers: [s.url], auth: {} }, "monitor");
    const seen: ConnectionState[] = [];
    const monitor = new ConnectionMonitor(nc, (state) => seen.push(state));
    try {
      assert.is(monitor.state, "connected");
      await s.restart();
      for (let i = 0; i < 200 && monitor.reconnects === 0; i++) await sleep(25);
      assert.is(monitor.state, "connected");
      assert.is(monitor.reconnects, 1);
      assert.equal(seen.slice(0, 2), ["reconnecting", "connected"]);
    } finally {
      await nc.close();
    }
    await sleep(10);
    assert.is(monitor.state, "closed");
    assert.is(seen.at(-1), "closed");
  });
});

/** Ports nothing listens on (bound, read, released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => resolve(srv));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * A CA, a server certificate and a client certificate, all EC P-256, valid one day. The server's
 * names DNS:localhost as well as IP:127.0.0.1: nats.js gives Node no servername for an IP URL,
 * so Node checks the certificate against "localhost".
 */
async function makeCertificates(dir: string) {
  const p = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", ["req", "-x509", ...ec, "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "1", "-subj", "/CN=bourse-test-ca"]);
  await writeFile(p("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await writeFile(p("client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const who of ["server", "client"]) {
    await run("openssl", ["req", ...ec, "-keyout", p(`${who}.key`), "-out", p(`${who}.csr`), "-subj", `/CN=bourse-test-${who}`]);
    await run("openssl", [
      "x509", "-req", "-in", p(`${who}.csr`), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
      "-out", p(`${who}.pem`), "-days", "1", "-extfile", p(`${who}.ext`),
    ]);
  }
  return {
    ca: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
  };
}

test.run();
