/**
 * The deployment files of deploy/ (docker-compose, Kubernetes manifests, Helm values,
 * systemd units, the Dockerfile, the NATS configs) parse, and agree with each other
 * and with the code on what a reader depends on: images, ports (4222 clients, 6222
 * routes, 8222 monitoring, the node's HTTP port), probe paths and ports, volumes,
 * the partition count of the subject mapping, the password variables, and grace
 * periods long enough for a node's handoff and a NATS server's lame duck mode.
 *
 * Running them for real is deploy-nats.test.ts (the NATS configs); Docker, compose,
 * Kubernetes and systemd are not available to the tests, so their files are checked
 * here, and with `systemd-analyze verify` where it exists.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseAllDocuments } from "yaml";
import { devLimits } from "../src/dev/limits.js";
import { DEPLOY_NATS_DIR, SYNC_ALWAYS_MIN_VERSION, credentialsOf, mappedPartitions, natsServerVersion, versionAtLeast } from "../src/local/deploy-cluster.js";
import { serverBinary } from "../src/local/nats-process.js";
import { NODE_V8_FLAGS } from "../src/v8-flags.js";

const DEPLOY = resolve(DEPLOY_NATS_DIR, "..");
const REPO = resolve(DEPLOY, "..");
const read = (rel: string): string => readFileSync(join(DEPLOY, rel), "utf8");

/**
 * The longest a node's graceful handoff (flush, snapshot, release, leave) may take before
 * it is killed: the grace `bourse dev` itself gives its nodes. Every deployment must allow
 * at least this much between SIGTERM and SIGKILL.
 */
const HANDOFF_SECONDS = devLimits.nodeStopMsTimeout / 1000;
const ACCOUNTS = readFileSync(join(DEPLOY_NATS_DIR, "accounts.conf"), "utf8");
const PARTITIONS = mappedPartitions(ACCOUNTS);
/** Every password variable accounts.conf reads. */
const PASSWORD_VARS = [...new Set([...ACCOUNTS.matchAll(/password:\s*\$([A-Z0-9_]+)/g)].map((m) => m[1]!))].sort();
const SERVERS = ["nats-1", "nats-2", "nats-3"];
const NODE_HTTP_PORT = 9464;

type Y = Record<string, any>;

/** Every document of a YAML file; fails on any parse error or warning. Merge keys (<<) resolved, as compose does. */
function yamlDocs(rel: string): Y[] {
  const docs = parseAllDocuments(read(rel), { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    assert.equal(d.errors.map(String), [], `${rel}: parse errors`);
    assert.equal(d.warnings.map(String), [], `${rel}: parse warnings`);
  }
  return list.map((d) => d.toJS({ maxAliasCount: 1000 }) as Y).filter((d) => d !== null);
}

function seconds(v: unknown): number {
  const m = /^(\d+)(s|m)?$/.exec(String(v));
  assert.ok(m, `a duration in s or m, got ${String(v)}`);
  return Number(m![1]) * (m![2] === "m" ? 60 : 1);
}

/** The value after `flag` in an argument list. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Lame duck duration + grace period of a NATS config, in seconds. */
function lameDuckSeconds(conf: string): number {
  const d = /^lame_duck_duration:\s*"(\d+)s"/m.exec(conf);
  const g = /^lame_duck_grace_period:\s*"(\d+)s"/m.exec(conf);
  assert.ok(d && g, "lame_duck_duration and lame_duck_grace_period are set");
  return Number(d![1]) + Number(g![1]);
}

const imageAtLeast212 = (image: string): boolean => {
  const m = /^nats:(\d+)\.(\d+)/.exec(image);
  return m !== null && versionAtLeast(`${m[1]}.${m[2]}.0`, SYNC_ALWAYS_MIN_VERSION);
};

test("every YAML file under deploy/ parses", () => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(DEPLOY, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (/\.ya?ml$/.test(e.name)) files.push(rel);
    }
  };
  walk(".");
  assert.equal(files.sort(), ["docker/docker-compose.yml", "k8s/bourse-node.yaml", "k8s/nats-values.yaml"]);
  for (const f of files) assert.ok(yamlDocs(f).length > 0, f);
});

test("nats-<i>.conf: names, ports 4222/6222/8222, routes to all three, store dir, fsync, accounts; nats-server -t accepts them", () => {
  assert.is(PARTITIONS, 16);
  assert.equal(PASSWORD_VARS, ["BOURSE_ADMIN_PASSWORD", "BOURSE_ALICE_PASSWORD", "BOURSE_BOB_PASSWORD", "BOURSE_NODE_PASSWORD", "BOURSE_SYS_PASSWORD"]);
  for (const [i, name] of SERVERS.entries()) {
    const conf = read(`nats/nats-${i + 1}.conf`);
    assert.match(conf, new RegExp(`^server_name: "${name}"$`, "m"));
    assert.match(conf, /^listen: "0\.0\.0\.0:4222"$/m);
    assert.match(conf, /^http: "0\.0\.0\.0:8222"$/m);
    assert.match(conf, /^ {2}listen: "0\.0\.0\.0:6222"$/m, "cluster listen");
    assert.match(conf, /^ {2}name: "bourse"$/m, "cluster name");
    for (const peer of SERVERS) assert.match(conf, new RegExp(`"nats-route://${peer}:6222"`));
    assert.match(conf, /^ {2}store_dir: "\/var\/lib\/nats"$/m);
    assert.match(conf, /^ {2}sync_interval: always$/m, "fsync before acknowledging (>= 2.12)");
    assert.match(conf, /^include "accounts\.conf"$/m);
    assert.ok(lameDuckSeconds(conf) > 0);
  }
  // The server itself parses them (a copy without sync_interval on a server older than 2.12).
  const dir = mkdtempSync(join(tmpdir(), "bourse-deploy-conf-"));
  try {
    const version = natsServerVersion();
    for (const f of ["accounts.conf", ...SERVERS.map((s) => `${s}.conf`)]) {
      let text = read(`nats/${f}`);
      if (!versionAtLeast(version, SYNC_ALWAYS_MIN_VERSION)) text = text.replace(/^\s*sync_interval: always$/m, "");
      writeFileSync(join(dir, f), text);
    }
    const { env } = credentialsOf(ACCOUNTS);
    for (const s of SERVERS) {
      const r = spawnSync(serverBinary(), ["-t", "-c", join(dir, `${s}.conf`)], { env: { ...process.env, ...env }, encoding: "utf8" });
      assert.is(r.status, 0, `${s}: ${r.stdout}${r.stderr}`);
      assert.match(`${r.stdout}${r.stderr}`, /configuration file .* is valid/, s);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("docker-compose.yml: 3 NATS servers from deploy/nats with volumes, ports and healthchecks; 3 nodes that wait for them", () => {
  const [compose] = yamlDocs("docker/docker-compose.yml");
  const services = compose!["services"] as Y;
  const composeDir = join(DEPLOY, "docker");
  assert.equal(Object.keys(services).sort(), ["nats-1", "nats-2", "nats-3", "node-1", "node-2", "node-3"]);
  for (const [i, name] of SERVERS.entries()) {
    const s = services[name] as Y;
    const conf = read(`nats/nats-${i + 1}.conf`);
    assert.ok(imageAtLeast212(s["image"]), `${name}: image ${s["image"]} must be nats >= 2.12 (the configs set sync_interval: always)`);
    assert.is(s["hostname"], name, "the host name the routes use");
    assert.equal(s["command"], ["nats-server", "--config", `/etc/nats/nats-${i + 1}.conf`]);
    const volumes = s["volumes"] as string[];
    assert.ok(volumes.includes("../nats:/etc/nats:ro"), `${name}: deploy/nats mounted read-only`);
    assert.ok(existsSync(resolve(composeDir, "../nats", `nats-${i + 1}.conf`)));
    assert.ok(volumes.includes(`${name}-data:/var/lib/nats`), `${name}: a named volume on the store dir`);
    assert.ok(compose!["volumes"] && `${name}-data` in compose!["volumes"], `${name}-data is declared`);
    const ports = s["ports"] as string[];
    assert.ok(ports.some((p) => p.endsWith(":4222")) && ports.some((p) => p.endsWith(":8222")), `${name}: client and monitoring ports published`);
    assert.ok(ports.every((p) => p.startsWith("127.0.0.1:")), `${name}: published on localhost only`);
    assert.equal(s["healthcheck"]["test"], ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8222/healthz"]);
    assert.equal(Object.keys(s["environment"]).sort(), PASSWORD_VARS, `${name}: every password accounts.conf reads`);
    assert.is(s["stop_signal"], "SIGUSR2", "lame duck mode");
    assert.ok(seconds(s["stop_grace_period"]) > lameDuckSeconds(conf), `${name}: grace beyond lame duck`);
  }
  const ids = new Set<string>();
  for (const name of ["node-1", "node-2", "node-3"]) {
    const s = services[name] as Y;
    assert.equal(s["build"], { context: "../..", dockerfile: "deploy/docker/Dockerfile" });
    assert.ok(existsSync(resolve(composeDir, "../..", "deploy/docker/Dockerfile")));
    assert.is(s["image"], "bourse-node:dev");
    const args = s["command"] as string[];
    assert.is(args[0], "node");
    ids.add(flag(args, "--id")!);
    assert.is(flag(args, "--nats"), SERVERS.map((h) => `nats://${h}:4222`).join(","));
    assert.is(flag(args, "--user"), "node");
    assert.is(Number(flag(args, "--partitions")), PARTITIONS, "the mapping's partition count");
    assert.is(Number(flag(args, "--replicas")), 3);
    assert.is(Number(flag(args, "--http-port")), NODE_HTTP_PORT);
    assert.is(s["environment"]["BOURSE_NATS_PASSWORD"], "${BOURSE_NODE_PASSWORD:?set BOURSE_NODE_PASSWORD in .env}");
    assert.ok((s["ports"] as string[]).every((p) => p.endsWith(`:${NODE_HTTP_PORT}`)), `${name}: the HTTP port published`);
    assert.match(s["healthcheck"]["test"].join(" "), new RegExp(`127\\.0\\.0\\.1:${NODE_HTTP_PORT}/healthz`));
    for (const n of SERVERS) assert.is(s["depends_on"][n]["condition"], "service_healthy", `${name} waits for ${n}`);
    assert.is(s["stop_signal"], "SIGTERM");
    assert.ok(seconds(s["stop_grace_period"]) >= HANDOFF_SECONDS, `${name}: stop_grace_period covers the handoff`);
    assert.is(s["read_only"], true);
  }
  assert.is(ids.size, 3, "unique node ids");
});

test("Dockerfile: multi-stage, non-root, HEALTHCHECK on /healthz, EXPOSE the HTTP port, SIGTERM; .dockerignore", () => {
  const df = read("docker/Dockerfile");
  const from = [...df.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/gm)];
  assert.equal(from.map((m) => m[2]), ["build", "runtime"], "a build stage and a runtime stage");
  const runtime = df.slice(df.indexOf("AS runtime"));
  const user = /^USER\s+(\S+)$/m.exec(runtime)?.[1];
  assert.ok(user && !/^(0|root)(:|$)/.test(user), `the runtime runs as a non-root user, got ${user}`);
  assert.match(user!, /^\d+:\d+$/, "numeric, so Kubernetes' runAsNonRoot can check it");
  assert.match(runtime, /^HEALTHCHECK\s.*\\\n\s+CMD .*\/healthz/m);
  assert.match(runtime, new RegExp(`^EXPOSE ${NODE_HTTP_PORT}$`, "m"));
  assert.match(runtime, new RegExp(`BOURSE_HTTP_PORT=${NODE_HTTP_PORT}`));
  assert.match(runtime, /^STOPSIGNAL SIGTERM$/m);
  assert.match(runtime, new RegExp(`^ENTRYPOINT \\["node", ${NODE_V8_FLAGS.map((f) => `"${f}", `).join("")}"\\/app\\/packages\\/node\\/bin\\/bourse\\.js"\\]$`, "m"), "the image starts the node with its V8 flags");
  // What the runtime copies exists in a built checkout (the build stage runs `tsc -b packages/node`).
  for (const m of runtime.matchAll(/^COPY --from=build \/src\/(\S+)/gm)) {
    const p = m[1]!;
    if (p.includes("node_modules")) continue;
    assert.ok(existsSync(join(REPO, p)), `COPY --from=build /src/${p}: missing in the repo after a build`);
  }
  assert.match(df, /pnpm install --frozen-lockfile --prod --filter "@bourse\/node\.\.\."/);
  const ignore = readFileSync(join(REPO, ".dockerignore"), "utf8").split("\n");
  for (const p of ["**/node_modules", "**/dist", ".git", ".bourse"]) assert.ok(ignore.includes(p), `.dockerignore: ${p}`);
});

test("k8s/bourse-node.yaml: a 3-replica surge Deployment with probes, resources, grace, a metrics Service and a PDB", () => {
  const docs = yamlDocs("k8s/bourse-node.yaml");
  const byKind = new Map(docs.map((d) => [d["kind"] as string, d]));
  assert.equal(docs.map((d) => d["kind"]), ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget"]);
  const cm = byKind.get("ConfigMap")!;
  const dep = byKind.get("Deployment")!;
  const svc = byKind.get("Service")!;
  const pdb = byKind.get("PodDisruptionBudget")!;
  assert.is(Number(cm["data"]["BOURSE_PARTITIONS"]), PARTITIONS);
  assert.is(Number(cm["data"]["BOURSE_REPLICAS"]), 3);
  assert.is(cm["data"]["BOURSE_NATS_URLS"], [0, 1, 2].map((i) => `nats://nats-${i}.nats-headless:4222`).join(","));

  assert.is(dep["spec"]["replicas"], 3);
  assert.equal(dep["spec"]["strategy"]["rollingUpdate"], { maxSurge: "100%", maxUnavailable: 0 });
  const labels = dep["spec"]["template"]["metadata"]["labels"] as Y;
  assert.equal(dep["spec"]["selector"]["matchLabels"], { "app.kubernetes.io/name": labels["app.kubernetes.io/name"] });
  const pod = dep["spec"]["template"]["spec"] as Y;
  assert.ok(pod["terminationGracePeriodSeconds"] >= HANDOFF_SECONDS, "grace covers the handoff");
  assert.is(pod["securityContext"]["runAsNonRoot"], true);
  const [c] = pod["containers"] as Y[];
  assert.ok(c!["image"]);
  const args = c!["args"] as string[];
  assert.is(args[0], "node");
  assert.is(flag(args, "--id"), "$(POD_NAME)");
  assert.is(Number(flag(args, "--http-port")), NODE_HTTP_PORT);
  const env = new Map((c!["env"] as Y[]).map((e) => [e["name"] as string, e]));
  assert.is(env.get("POD_NAME")!["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
  assert.equal(env.get("BOURSE_NATS_PASSWORD")!["valueFrom"]["secretKeyRef"], { name: "bourse-nats-auth", key: "node" });
  for (const ref of args.flatMap((a) => [...a.matchAll(/\$\((\w+)\)/g)].map((m) => m[1]!))) {
    assert.ok(env.has(ref) || ref in cm["data"], `$(${ref}) is defined in env or the ConfigMap`);
  }
  assert.is(c!["envFrom"][0]["configMapRef"]["name"], cm["metadata"]["name"]);
  assert.equal(c!["ports"], [{ name: "http", containerPort: NODE_HTTP_PORT, protocol: "TCP" }]);
  assert.equal(c!["livenessProbe"]["httpGet"], { path: "/healthz", port: "http" });
  assert.equal(c!["readinessProbe"]["httpGet"], { path: "/readyz", port: "http" });
  assert.equal(c!["startupProbe"]["httpGet"], { path: "/healthz", port: "http" });
  assert.ok(c!["resources"]["requests"]["cpu"] && c!["resources"]["requests"]["memory"] && c!["resources"]["limits"]["memory"]);
  assert.is(c!["securityContext"]["readOnlyRootFilesystem"], true);
  assert.is(c!["lifecycle"], undefined, "no preStop: it would only delay the handoff");

  assert.equal(svc["spec"]["selector"], { "app.kubernetes.io/name": labels["app.kubernetes.io/name"] });
  assert.equal(svc["spec"]["ports"], [{ name: "http-metrics", port: NODE_HTTP_PORT, targetPort: "http", protocol: "TCP" }]);
  assert.is(pdb["spec"]["maxUnavailable"], 1);
  assert.equal(pdb["spec"]["selector"]["matchLabels"], { "app.kubernetes.io/name": labels["app.kubernetes.io/name"] });
});

test("k8s/nats-values.yaml: 3 clustered servers, JetStream on PVCs, ports, fsync, accounts.conf and its passwords", () => {
  const [v] = yamlDocs("k8s/nats-values.yaml");
  const cfg = v!["config"] as Y;
  assert.is(cfg["nats"]["port"], 4222);
  assert.equal(cfg["cluster"], { enabled: true, replicas: 3, port: 6222 });
  assert.equal(cfg["monitor"], { enabled: true, port: 8222 });
  const js = cfg["jetstream"] as Y;
  assert.is(js["enabled"], true);
  assert.is(js["fileStore"]["enabled"], true);
  assert.is(js["fileStore"]["pvc"]["enabled"], true);
  assert.match(js["fileStore"]["pvc"]["size"], /^\d+Gi$/);
  assert.is(js["fileStore"]["dir"], "/data");
  assert.is(js["merge"]["sync_interval"], "always");
  assert.is(cfg["merge"]["$include"], "accounts.conf", "includes deploy/nats/accounts.conf (helm --set-file)");
  const image = v!["container"]["image"] as Y;
  assert.ok(imageAtLeast212(`${image["repository"]}:${image["tag"]}`), "nats >= 2.12 for sync_interval: always");
  const env = v!["container"]["env"] as Y;
  for (const name of PASSWORD_VARS) assert.is(env[name]?.["valueFrom"]?.["secretKeyRef"]?.["name"], "bourse-nats-auth", name);
  assert.ok(v!["podTemplate"]["merge"]["spec"]["terminationGracePeriodSeconds"] > lameDuckSeconds(read("nats/nats-1.conf")));
  assert.equal(Object.keys(v!["podTemplate"]["topologySpreadConstraints"]), ["kubernetes.io/hostname"]);
});

/** Sections → key → values of a systemd unit (continuation lines joined). */
function unit(rel: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const lines = read(rel).replace(/\\\n\s*/g, " ").split("\n");
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      current = new Map();
      sections.set(s[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && current, `${rel}: not a key=value line in a section: ${line}`);
    current!.set(kv![1]!, [...(current!.get(kv![1]!) ?? []), kv![2]!]);
  }
  return sections;
}

function envFile(rel: string): Map<string, string> {
  return new Map(read(rel).split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

test("systemd units have the required keys; their env examples define what they and accounts.conf read", () => {
  const nats = unit("systemd/nats-server.service");
  const ns = nats.get("Service")!;
  const one = (m: Map<string, string[]>, k: string): string => {
    const v = m.get(k);
    assert.ok(v && v.length === 1, `${k} set once`);
    return v![0]!;
  };
  assert.ok(nats.get("Unit")!.has("Description") && nats.get("Unit")!.has("After"));
  assert.match(one(ns, "ExecStart"), /nats-server -c \/etc\/nats\/nats-server\.conf$/);
  assert.is(one(ns, "User"), "nats");
  assert.is(one(ns, "EnvironmentFile"), "/etc/nats/nats-server.env");
  assert.is(one(ns, "Restart"), "on-failure");
  assert.is(one(ns, "KillSignal"), "SIGUSR2");
  assert.ok(Number(one(ns, "TimeoutStopSec")) > lameDuckSeconds(read("nats/nats-1.conf")));
  assert.is(one(ns, "StateDirectory"), "nats", "/var/lib/nats, the configs' store_dir");
  assert.is(one(ns, "NoNewPrivileges"), "yes");
  assert.is(one(ns, "ProtectSystem"), "strict");
  assert.is(one(nats.get("Install")!, "WantedBy"), "multi-user.target");
  assert.equal([...envFile("systemd/nats-server.env.example").keys()].sort(), PASSWORD_VARS);

  const node = unit("systemd/bourse-node@.service");
  const bs = node.get("Service")!;
  const exec = one(bs, "ExecStart");
  assert.ok(exec.startsWith(`/usr/bin/node ${NODE_V8_FLAGS.join(" ")} \${BOURSE_HOME}/packages/node/bin/bourse.js node `), `ExecStart runs the node with its V8 flags: ${exec}`);
  assert.match(exec, / --id %i /);
  assert.is(one(bs, "User"), "bourse");
  assert.equal(bs.get("EnvironmentFile"), ["/etc/bourse/node.env", "-/etc/bourse/node-%i.env"]);
  assert.is(one(bs, "Restart"), "on-failure");
  assert.is(one(bs, "KillSignal"), "SIGTERM");
  assert.ok(Number(one(bs, "TimeoutStopSec")) >= HANDOFF_SECONDS, "TimeoutStopSec covers the handoff");
  assert.is(one(bs, "NoNewPrivileges"), "yes");
  assert.not.ok(bs.has("MemoryDenyWriteExecute"), "V8's JIT needs writable executable memory");
  assert.not.match(exec, /--password/, "the password comes from BOURSE_NATS_PASSWORD, not the command line");
  const defined = new Set([...(bs.get("Environment") ?? []).map((e) => e.slice(0, e.indexOf("="))), ...envFile("systemd/bourse-node.env.example").keys()]);
  for (const m of exec.matchAll(/\$\{?(\w+)\}?/g)) assert.ok(defined.has(m[1]!), `${m[1]} is defined for ExecStart`);
  const example = envFile("systemd/bourse-node.env.example");
  assert.is(Number(example.get("BOURSE_PARTITIONS")), PARTITIONS);
  assert.is(Number(example.get("BOURSE_REPLICAS")), 3);
  assert.ok(example.has("BOURSE_NATS_PASSWORD"));
  assert.is(one(node.get("Install")!, "WantedBy"), "multi-user.target");
});

test("systemd-analyze verify finds no syntax problem in the units (where systemd is installed)", () => {
  let analyze: string;
  try {
    analyze = execFileSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" }).trim();
  } catch {
    console.warn("  (skipped: no systemd-analyze)");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "bourse-deploy-units-"));
  try {
    cpSync(join(DEPLOY, "systemd"), dir, { recursive: true });
    symlinkSync(join(dir, "bourse-node@.service"), join(dir, "bourse-node@node-1.service"));
    let out = "";
    try {
      out = execFileSync(analyze, ["verify", join(dir, "nats-server.service"), join(dir, "bourse-node@node-1.service")], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      out = `${(e as { stdout?: string }).stdout ?? ""}${(e as { stderr?: string }).stderr ?? ""}`;
    }
    // Missing binaries or users on this machine are not the units' fault; syntax is.
    const problems = out.split("\n").filter((l) => /Unknown (key|section)|[Ii]nvalid|Failed to parse|Missing '='|[Uu]nbalanced/.test(l));
    assert.equal(problems, [], out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
