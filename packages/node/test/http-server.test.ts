import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type AddressInfo } from "node:net";
import { HttpServerError, readiness, startHttpServer, type HealthReport, type HttpServerHandle } from "../src/http-server.js";
import { createMetrics } from "../src/metrics.js";

const healthy: HealthReport = {
  nats: "connected",
  provisioned: true,
  joined: true,
  partitions: [
    { partition: 0, serving: true },
    { partition: 5, serving: true },
  ],
};

/** A server whose health report the test changes between requests. */
async function withServer(fn: (base: string, set: (h: HealthReport) => void, srv: HttpServerHandle) => Promise<void>, metricsDefaults = false): Promise<void> {
  let report = healthy;
  const metrics = createMetrics({ defaultMetrics: metricsDefaults, labels: { node: "n1" } });
  const srv = await startHttpServer({ port: 0, host: "127.0.0.1", metrics, health: () => report });
  try {
    await fn(`http://127.0.0.1:${srv.port}`, (h) => (report = h), srv);
  } finally {
    await srv.close();
  }
}

async function get(url: string, method = "GET"): Promise<{ status: number; type: string; body: string; json: () => { status: string; reasons: string[] } & Record<string, unknown> }> {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(2_000) });
  const body = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", body, json: () => JSON.parse(body) };
}

test("/metrics serves Prometheus text with Bourse's metrics and the event-loop delay", async () => {
  const metrics = createMetrics({ labels: { node: "n1" } });
  metrics.commands.inc(3);
  metrics.fencing.inc({ kind: "lease" });
  metrics.lag.set({ partition: "7" }, 12);
  metrics.batchEvents.observe(40);
  const srv = await startHttpServer({ port: 0, host: "127.0.0.1", metrics, health: () => healthy });
  try {
    const r = await get(`http://127.0.0.1:${srv.port}/metrics`);
    assert.is(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^bourse_commands_total\{node="n1"\} 3$/m);
    assert.match(r.body, /^bourse_fencing_total\{kind="lease",node="n1"\} 1$/m);
    assert.match(r.body, /^bourse_partition_lag_commands\{partition="7",node="n1"\} 12$/m);
    assert.match(r.body, /^bourse_batch_events_bucket\{le="50",node="n1"\} 1$/m);
    for (const name of ["events_total", "batches_total", "partitions_owned", "failovers_total", "partition_restarts_total", "snapshot_duration_seconds", "snapshot_last_timestamp_seconds", "dead_letters_total", "batch_publish_duration_seconds"]) {
      assert.match(r.body, new RegExp(`^# TYPE bourse_${name} `, "m"), name);
    }
    assert.match(r.body, /^nodejs_eventloop_lag_p99_seconds\{node="n1"\} /m);
  } finally {
    await srv.close();
  }
});

test("/healthz is 200 unless the NATS connection is closed", async () => {
  await withServer(async (base, set) => {
    const ok = await get(`${base}/healthz`);
    assert.is(ok.status, 200);
    assert.is(ok.type, "application/json");
    assert.is(ok.json().status, "ok");
    set({ ...healthy, nats: "reconnecting", joined: false });
    assert.is((await get(`${base}/healthz`)).status, 200, "reconnecting is alive");
    set({ ...healthy, nats: "closed" });
    const dead = await get(`${base}/healthz`);
    assert.is(dead.status, 503);
    assert.equal(dead.json().reasons, ["the NATS connection is closed"]);
  });
});

test("/readyz is 200 only when provisioned, joined, connected and every owned partition serves", async () => {
  await withServer(async (base, set) => {
    const ok = await get(`${base}/readyz`);
    assert.is(ok.status, 200);
    assert.equal(ok.json().partitions, { owned: 2, serving: 2 });
    assert.equal(ok.json().reasons, []);

    set({ nats: "reconnecting", provisioned: false, joined: false, partitions: [{ partition: 3, serving: false, detail: "replaying" }] });
    const not = await get(`${base}/readyz`);
    assert.is(not.status, 503);
    assert.is(not.json().status, "fail");
    assert.equal(not.json().reasons, [
      "NATS is reconnecting",
      "streams and buckets are not provisioned",
      "not a member of the cluster yet",
      "partition 3 is not serving: replaying",
    ]);
    set({ ...healthy, shuttingDown: true });
    assert.equal((await get(`${base}/readyz`)).json().reasons, ["shutting down"]);
    // No partitions owned yet is ready: a member may own none while others hold them all.
    set({ ...healthy, partitions: [] });
    assert.is((await get(`${base}/readyz`)).status, 200);
  });
});

test("readiness caps the list of partitions it names", () => {
  const partitions = Array.from({ length: 100 }, (_, p) => ({ partition: p, serving: false }));
  const v = readiness({ ...healthy, partitions });
  assert.is(v.ok, false);
  assert.is(v.reasons.length, 33);
  assert.is(v.reasons.at(-1), "and 68 more partitions are not serving");
});

test("a health report that throws is 503, not a crash", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const srv = await startHttpServer({
    port: 0,
    host: "127.0.0.1",
    metrics,
    health: () => {
      throw new Error("boom");
    },
  });
  try {
    const r = await get(`http://127.0.0.1:${srv.port}/readyz`);
    assert.is(r.status, 503);
    assert.match(r.json().reasons[0]!, /boom/);
  } finally {
    await srv.close();
  }
});

test("unknown paths are 404, other methods 405, HEAD has no body, query strings are ignored", async () => {
  await withServer(async (base) => {
    for (const path of ["/", "/metrics/x", "/health", "/readyz/", "/favicon.ico"]) {
      assert.is((await get(`${base}${path}`)).status, 404, path);
    }
    const post = await get(`${base}/metrics`, "POST");
    assert.is(post.status, 405);
    const head = await get(`${base}/healthz`, "HEAD");
    assert.is(head.status, 200);
    assert.is(head.body, "");
    assert.is((await get(`${base}/readyz?verbose=1`)).status, 200);
  });
});

test("a port in use is a typed error naming the port; close is idempotent", async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const metrics = createMetrics({ defaultMetrics: false });
    try {
      const srv = await startHttpServer({ port, host: "127.0.0.1", metrics, health: () => healthy });
      await srv.close();
      assert.unreachable("listened on a busy port");
    } catch (e) {
      assert.instance(e, HttpServerError);
      assert.is((e as HttpServerError).code, "listen_failed");
      assert.match((e as Error).message, new RegExp(`port ${port}: .*EADDRINUSE`));
    }
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  await withServer(async (_base, _set, srv) => {
    await Promise.all([srv.close(), srv.close()]);
  });
});

test.run();
