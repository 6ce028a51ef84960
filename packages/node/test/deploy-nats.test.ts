/**
 * The production NATS configuration of deploy/nats, run for real: three nats-server
 * processes from nats-1.conf … nats-3.conf and their accounts.conf (ports, route
 * hosts and store dirs rewritten by startDeployCluster, nothing else), then:
 *
 * - the streams, buckets and snapshot store are provisioned at 3 replicas, by the
 *   node user, spread over the three servers;
 * - the bourse.cmd mapping sends each market to the partition of the documented
 *   function (partitionOf, docs/protocol.md §5);
 * - a publisher's own command is acknowledged by JetStream, while the server refuses
 *   its publishes to bourse.out.>, to another account's commands (direct or mapped)
 *   and its subscriptions to another account's reports, to bourse.out.> and to other
 *   inboxes; publish permissions are checked on the mapped subject (2.9.10);
 * - a real `bourse node`, started with the node credentials, serves commands the
 *   publisher sends through the mapping (report on bourse.evt.<account>, query
 *   reply, a GTD expiry via the node's own tick, a wrong-partition rejection), hands
 *   off to a second node on SIGTERM, and never trips a permission;
 * - tls.conf, with certificates from a throwaway CA, requires TLS, a client
 *   certificate and the password.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { decodeEvents, encodeCommand, encodeValue, type EngineEvent } from "@bourse/engine";
import { resolveConfig } from "../src/config.js";
import { decodeOrderReply, decodeReport } from "../src/client/wire.js";
import { PARTITION_TEST_VECTORS, partitionOf } from "../src/partitioning.js";
import { KV_CLUSTER, KV_LEASES, KV_MEMBERS, OBJ_SNAPSHOTS, STREAM_DLQ, STREAM_IN, STREAM_OUT, TOKEN_RE, subjects } from "../src/protocol.js";
import { provision } from "../src/provision.js";
import { DEPLOY_NATS_DIR, renderServerConfig, startDeployCluster, type DeployClusterHandle, type DeployCredential } from "../src/local/deploy-cluster.js";
import { ServerProcess } from "../src/local/nats-process.js";
import { reservePorts } from "../src/local/nats-server.js";
import { NodeProcess } from "../src/local/node-process.js";
import { ADMIN_ACCOUNT, TEST_MARKET_SPEC } from "./support/real-cluster.js";

/** The partition count accounts.conf documents; the mapping must be written for it. */
const DOCUMENTED_PARTITIONS = 16;

let cluster: DeployClusterHandle;
const connections: NatsConnection[] = [];
const nodes: NodeProcess[] = [];

interface Conn {
  nc: NatsConnection;
  js: JetStreamClient;
  /** Permission violations the server reported on this connection, as "publish <subject>" / "subscription <subject>". */
  violations: string[];
}

async function connectAs(cred: DeployCredential, inboxPrefix?: string): Promise<Conn> {
  const nc = await connect({ servers: cluster.serverUrls, user: cred.user, pass: cred.pass, name: `deploy-test-${cred.user}`, ...(inboxPrefix ? { inboxPrefix } : {}) });
  connections.push(nc);
  const violations: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type !== "error" || s.error.name !== "PermissionViolationError") continue;
      const e = s.error as Error & { operation?: string; subject?: string };
      violations.push(`${e.operation} ${e.subject}`);
    }
  })();
  return { nc, js: jetstream(nc, { timeout: 5_000 }), violations };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) {
      const logs = nodes.map((n) => `--- ${n.opts.id}\n${n.logText().slice(-4_000)}`).join("\n");
      throw new Error(`timed out after ${ms} ms waiting for ${what}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Permission violations of `user` in every server's log (the server logs each one as an error). */
function serverViolations(user: string): string[] {
  return cluster.servers.flatMap((s) => s.logs().split("\n").filter((l) => l.includes("Violation") && l.includes(`User "${user}"`)));
}

/** Collects the events of every report on bourse.evt.<account>. */
function collectReports(conn: Conn, account: string): { events: EngineEvent[]; sub: Subscription } {
  const events: EngineEvent[] = [];
  const sub = conn.nc.subscribe(subjects.evt(account), {
    callback: (_e, m) => {
      events.push(...(decodeReport(m.data).events as EngineEvent[]));
    },
  });
  return { events, sub };
}

test.before(async () => {
  cluster = await startDeployCluster();
});

test.after(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()));
  await Promise.allSettled(connections.map((nc) => nc.close()));
  await cluster?.dispose();
});

test("the deploy configs start a 3-server JetStream cluster with the documented roles and partition count", () => {
  assert.equal(cluster.servers.map((s) => s.serverName), ["nats-1", "nats-2", "nats-3"]);
  assert.is(cluster.name, "bourse");
  assert.is(cluster.partitions, DOCUMENTED_PARTITIONS);
  const c = cluster.credentials;
  assert.equal([c.node.user, c.admin.user, c.sys.user], ["node", "admin", "sys"]);
  assert.equal(Object.keys(c.publishers).sort(), ["alice", "bob"]);
  assert.equal(c.publishers["alice"], { ...c.publishers["alice"]!, user: "alice", account: "alice", inboxPrefix: "_INBOX.alice" });
});

test("the node user provisions every stream, bucket and the snapshot store at 3 replicas, spread over the 3 servers", async () => {
  const node = await connectAs(cluster.credentials.node);
  const handles = await provision(node.nc, resolveConfig({ id: "deploy-test", partitions: cluster.partitions, replicas: 3 }));
  assert.equal(handles.warnings, []);
  assert.is(handles.clusterConfig.partitions, DOCUMENTED_PARTITIONS);
  const jsm = await jetstreamManager(node.nc);
  for (const name of [STREAM_IN, STREAM_OUT, STREAM_DLQ, `KV_${KV_MEMBERS}`, `KV_${KV_LEASES}`, `KV_${KV_CLUSTER}`, `OBJ_${OBJ_SNAPSHOTS}`]) {
    // Right after a create the stream's raft group may still be electing its leader.
    let info = await jsm.streams.info(name);
    await until(`a leader for ${name}`, async () => (info = await jsm.streams.info(name)).cluster?.leader !== undefined);
    assert.is(info.config.num_replicas, 3, `${name} replicas`);
    assert.is(info.config.storage, "file", `${name} storage`);
    const peers = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort();
    assert.equal(peers, ["nats-1", "nats-2", "nats-3"], `${name} peers`);
  }
  assert.equal(node.violations, []);
});

test("the mapping sends bourse.cmd.<market>.<account> to bourse.in.<partitionOf(market, 16)>.<market>.<account>", async () => {
  const admin = await connectAs(cluster.credentials.admin);
  const jsm = await jetstreamManager(admin.nc);
  // The documented vectors (computed independently of partitioning.ts) whose markets are tokens, then many more.
  const vectors = PARTITION_TEST_VECTORS.filter((v) => TOKEN_RE.test(v.market));
  for (const v of vectors) assert.is(partitionOf(v.market, DOCUMENTED_PARTITIONS), v.fnv1a32 % DOCUMENTED_PARTITIONS, v.market);
  const markets = [...new Set([...vectors.map((v) => v.market), ...Array.from({ length: 40 }, (_, i) => `SKU-${i}`), "a_b", "x:y", "@home", "~t~", "Z".repeat(64)])];
  assert.is(markets.length, 50);
  const seen = new Set<number>();
  for (const market of markets) {
    // A query-free probe command: the node (none runs yet) will later reject it as unknown_market.
    const ack = await admin.js.publish(subjects.cmd(market, ADMIN_ACCOUNT), encodeValue({ kind: "cancel", cmdId: `map-${market}`, account: ADMIN_ACCOUNT, market, orderId: 1 }), { msgID: `map-${market}` });
    assert.is(ack.stream, STREAM_IN);
    const stored = await jsm.streams.getMessage(STREAM_IN, { seq: ack.seq });
    const p = partitionOf(market, DOCUMENTED_PARTITIONS);
    assert.is(stored?.subject, subjects.in(p, market, ADMIN_ACCOUNT), market);
    seen.add(p);
  }
  assert.ok(seen.size >= 12, `the markets cover ${seen.size} of 16 partitions`);
  assert.equal(admin.violations, []);
});

test("a publisher may submit its own commands; the server refuses its other publishes and subscriptions", async () => {
  const alice = cluster.credentials.publishers["alice"]!;
  const conn = await connectAs(alice, alice.inboxPrefix);
  const jsm = await jetstreamManager(await connectAs(cluster.credentials.admin).then((c) => c.nc));
  const market = "SKU-1";
  const p = partitionOf(market, DOCUMENTED_PARTITIONS);
  const cmd = (account: string, cmdId: string) => encodeValue({ kind: "cancel", cmdId, account, market, orderId: 1 });

  // Its own command, through the mapping: acknowledged by BOURSE_IN, stored on its partition.
  const ack = await conn.js.publish(subjects.cmd(market, "alice"), cmd("alice", "perm-own"), { msgID: "perm-own" });
  assert.is(ack.stream, STREAM_IN);
  assert.is((await jsm.streams.getMessage(STREAM_IN, { seq: ack.seq }))?.subject, subjects.in(p, market, "alice"));
  const lastBefore = (await jsm.streams.info(STREAM_IN)).state.last_seq;

  // The output stream: refused, and the request fails with the server's permission error.
  const out = await conn.js.publish(subjects.out(p), cmd("alice", "perm-out")).then(() => null, (e: Error) => e);
  assert.ok(out !== null, "publishing to bourse.out must fail");
  assert.match(String(out?.cause ?? out), /Permissions Violation for Publish to "bourse\.out\.\d+"/);

  // Another account's commands: refused directly, and through the mapping, where the violation names the
  // MAPPED subject: 2.9.10 checks publish permissions after applying the mapping.
  conn.nc.publish(subjects.in(p, market, "bob"), cmd("bob", "perm-bob-direct"));
  conn.nc.publish(subjects.cmd(market, "bob"), cmd("bob", "perm-bob-mapped"));
  // The subject nodes append their ticks to: refused too.
  conn.nc.publish(subjects.in(p, "_", "deploy-n1"), cmd("deploy-n1", "perm-tick"));
  // Reports: to anyone (forged) and from another account.
  conn.nc.publish(subjects.evt("bob"), new Uint8Array([0x80]));
  const subs = [subjects.evt("bob"), subjects.evt("admin"), subjects.outAll, subjects.inAll, "_INBOX.>", "_INBOX.bob.>", "bourse.>"].map((s) => conn.nc.subscribe(s));
  // What it may read: its own reports, public market data.
  const allowed = [subjects.evt("alice"), "bourse.md.>"].map((s) => conn.nc.subscribe(s));
  await conn.nc.flush();
  await until("the server's permission errors", () => conn.violations.length >= 12);
  assert.equal([...conn.violations].sort(), [
    `publish ${subjects.evt("bob")}`,
    `publish ${subjects.in(p, "_", "deploy-n1")}`,
    `publish ${subjects.in(p, market, "bob")}`,
    `publish ${subjects.in(p, market, "bob")}`, // bourse.cmd.SKU-1.bob, as mapped
    `publish ${subjects.out(p)}`,
    "subscription _INBOX.>",
    "subscription _INBOX.bob.>",
    "subscription bourse.>",
    `subscription ${subjects.evt("admin")}`,
    `subscription ${subjects.evt("bob")}`,
    `subscription ${subjects.inAll}`,
    `subscription ${subjects.outAll}`,
  ].sort());
  for (const s of subs) assert.ok(s.isClosed(), `subscription to ${s.getSubject()} must be closed by the server`);
  for (const s of allowed) assert.not.ok(s.isClosed(), `subscription to ${s.getSubject()} must stay open`);
  assert.is((await jsm.streams.info(STREAM_IN)).state.last_seq, lastBefore, "nothing refused reached BOURSE_IN");

  // Because the check sees the mapped subject, bourse.in.<p>.<market>.alice cannot be refused without refusing
  // the mapping too: the publisher can write its own account's commands there directly (any p). The node
  // rejects a wrong partition (next test); this pins the documented 2.9.10 behaviour.
  const direct = await conn.js.publish(subjects.in(p, market, "alice"), cmd("alice", "perm-direct"), { msgID: "perm-direct" });
  assert.is(direct.stream, STREAM_IN);
});

test("a real bourse node with the node credentials serves the publisher through the mapping, hands off, and trips no permission", async () => {
  const nodeCred = cluster.credentials.node;
  const nodeArgs = ["--user", nodeCred.user, "--password", nodeCred.pass, "--replicas", "3", "--snapshot-commands", "1", "--snapshot-ms", "500"];
  const n1 = await NodeProcess.start({ id: "deploy-n1", nats: cluster.urls, partitions: cluster.partitions, args: nodeArgs });
  nodes.push(n1);
  await until("every partition served by deploy-n1", () => new Set(n1.servingPartitions()).size === DOCUMENTED_PARTITIONS);

  const admin = await connectAs(cluster.credentials.admin);
  const aliceCred = cluster.credentials.publishers["alice"]!;
  const alice = await connectAs(aliceCred, aliceCred.inboxPrefix);
  const bobCred = cluster.credentials.publishers["bob"]!;
  const bob = await connectAs(bobCred, bobCred.inboxPrefix);
  const market = "DEPLOY-1";
  const p = partitionOf(market, DOCUMENTED_PARTITIONS);

  // The market, defined by the admin account through the mapping; alice sees it on public market data.
  const md: EngineEvent[] = [];
  alice.nc.subscribe(subjects.md(market), {
    callback: (_e, m) => {
      md.push(...decodeEvents(m.data));
    },
  });
  const mine = collectReports(alice, "alice");
  const bobs = collectReports(bob, "bob");
  await Promise.all([alice.nc.flush(), bob.nc.flush()]);
  await admin.js.publish(subjects.cmd(market, ADMIN_ACCOUNT), encodeCommand({ kind: "market", cmdId: `mk-${market}`, account: ADMIN_ACCOUNT, symbol: market, ...TEST_MARKET_SPEC }), { msgID: `mk-${market}` });
  await until("the market event on bourse.md", () => md.some((e) => e.type === "market"));

  // A place through bourse.cmd: acked by JetStream, served, reported on bourse.evt.alice.
  const place = { kind: "place", cmdId: "deploy-place-1", account: "alice", market, side: "buy", type: "limit", price: 1_000, qty: 5, tif: "GTC" } as const;
  const ack = await alice.js.publish(subjects.cmd(market, "alice"), encodeCommand(place), { msgID: place.cmdId });
  await until("alice's accepted report", () => mine.events.some((e) => e.type === "accepted" && e.cmdId === place.cmdId));
  const accepted = mine.events.find((e) => e.type === "accepted" && e.cmdId === place.cmdId) as EngineEvent & { orderId: number; partition: number };
  assert.is(accepted.orderId, ack.seq, "the order id is the BOURSE_IN sequence of the acked command");
  assert.is(accepted.partition, p);

  // A query on bourse.q.<p>, answered into alice's own inbox.
  const reply = decodeOrderReply((await alice.nc.request(subjects.query(p), encodeValue({ kind: "query", cmdId: "q-1", account: "alice", market, orderId: accepted.orderId }), { timeout: 5_000 })).data);
  assert.ok(reply.ok && reply.value.account === "alice" && reply.value.remaining === 5, JSON.stringify(reply));

  // A GTD order in an otherwise idle partition expires: the owner appends a tick to bourse.in (node permission).
  const gtd = { kind: "place", cmdId: "deploy-gtd-1", account: "alice", market, side: "sell", type: "limit", price: 1_100, qty: 1, tif: "GTD", expireAt: Date.now() + 800 } as const;
  await alice.js.publish(subjects.cmd(market, "alice"), encodeCommand(gtd), { msgID: gtd.cmdId });
  await until("the GTD order's expiry", () => mine.events.some((e) => e.type === "expired"));

  // Written directly to a wrong partition (the publisher may, see the previous test): the node rejects it.
  const wrongP = (p + 1) % DOCUMENTED_PARTITIONS;
  const wrong = { ...place, cmdId: "deploy-wrong-p" };
  await alice.js.publish(subjects.in(wrongP, market, "alice"), encodeCommand(wrong), { msgID: wrong.cmdId });
  await until("the wrong_partition rejection", () => mine.events.some((e) => e.type === "rejected" && e.cmdId === wrong.cmdId));
  assert.is((mine.events.find((e) => e.type === "rejected" && e.cmdId === wrong.cmdId) as { code?: string }).code, "wrong_partition");

  // A second node joins (lease handoff with snapshots); then the first leaves on SIGTERM and the second takes all.
  const n2 = await NodeProcess.start({ id: "deploy-n2", nats: cluster.urls, partitions: cluster.partitions, args: nodeArgs });
  nodes.push(n2);
  await until("deploy-n2 serving a share of the partitions", () => n2.servingPartitions().length > 0);
  const n2Since = n2.lines.length;
  n1.kill("SIGTERM");
  assert.is(await n1.waitExit(), 0, "deploy-n1 exits 0 after its handoff");
  await until("deploy-n2 serving every partition", async () => {
    const r = await alice.nc.request(subjects.query(p), encodeValue({ kind: "depth", market, levels: 1 }), { timeout: 1_000 }).catch(() => null);
    return r !== null && n2.lines.slice(n2Since).some((l) => l.msg === "assignment applied" && (l["owned"] as number[]).length === DOCUMENTED_PARTITIONS);
  });
  const place2 = { ...place, cmdId: "deploy-place-2", qty: 2 };
  await alice.js.publish(subjects.cmd(market, "alice"), encodeCommand(place2), { msgID: place2.cmdId });
  await until("the second node's report", () => mine.events.some((e) => e.type === "accepted" && e.cmdId === place2.cmdId));

  assert.equal(bobs.events, [], "bob receives none of alice's reports");
  for (const c of [admin, alice, bob]) assert.equal(c.violations, [], "no violation on the test's connections");
  assert.equal(serverViolations(cluster.credentials.node.user), [], "no permission violation by any node");
  mine.sub.unsubscribe();
  bobs.sub.unsubscribe();
});

/** A throwaway CA and the certificates tls.conf names, for 127.0.0.1/localhost; undefined without openssl. */
function makeCertificates(dir: string): boolean {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    openssl("version");
  } catch {
    return false;
  }
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl("req", "-x509", ...key, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bourse-test-ca");
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,DNS:nats-1,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  for (const name of ["server", "route", "client"]) {
    openssl("req", ...key, "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-set_serial", String(Date.now()), "-days", "2", "-extfile", "ext.cnf", "-out", `${name}.pem`);
  }
  return true;
}

test("tls.conf: the server requires TLS and a client certificate from the CA, on top of the user's password", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bourse-deploy-tls-"));
  let server: ServerProcess | undefined;
  try {
    if (!makeCertificates(dir)) {
      console.warn("  (skipped: no openssl to make test certificates)");
      return;
    }
    const text = readFileSync(join(DEPLOY_NATS_DIR, "tls.conf"), "utf8").replaceAll('"/etc/nats/tls/', `"${dir}/`);
    assert.not.match(text, /_file:\s*"\/etc\//, "every certificate path of tls.conf is rewritten to the test certificates");
    const routeOf = new Map((await reservePorts(3)).map((port, i) => [`nats-${i + 1}`, port]));
    server = await ServerProcess.create({
      serverName: "nats-1",
      jetstream: true,
      render: ({ port, storeDir }) => renderServerConfig({ file: "tls.conf", text }, { port, routePort: routeOf.get("nats-1")!, routeOf, storeDir, syncAlways: cluster.syncAlways }),
      files: { "accounts.conf": readFileSync(join(DEPLOY_NATS_DIR, "accounts.conf"), "utf8") },
      env: cluster.env,
    });
    // Listening is all one member can do: its JetStream waits for the other two.
    await server.start("listening");
    const url = `tls://127.0.0.1:${server.port}`;
    const admin = cluster.credentials.admin;
    const tls = { caFile: join(dir, "ca.pem"), certFile: join(dir, "client.pem"), keyFile: join(dir, "client-key.pem") };
    const nc = await connect({ servers: url, user: admin.user, pass: admin.pass, tls, reconnect: false });
    assert.ok(nc.info?.tls_required, "the server requires TLS");
    assert.ok(nc.info?.tls_verify, "the server verifies client certificates");
    await nc.flush();
    await nc.close();
    const refused = async (opts: Parameters<typeof connect>[0]) => connect({ servers: url, reconnect: false, timeout: 3_000, ...opts }).then(async (c) => (await c.close(), false), () => true);
    assert.ok(await refused({ user: admin.user, pass: admin.pass, tls: { caFile: tls.caFile } }), "no client certificate: refused");
    assert.ok(await refused({ user: admin.user, pass: "wrong", tls }), "a certificate without the password: refused");
    assert.ok(await refused({ user: admin.user, pass: admin.pass }), "no TLS: refused");
  } finally {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
