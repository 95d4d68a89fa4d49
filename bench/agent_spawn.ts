// `bun bench/agent_spawn.ts [runs]`: agent spawn (signed POST /v1/containers → ready) against raw
// `docker run` of the same image with the same readiness wait (agent/readiness.ts), side by side in
// one run, rounds alternating between the methods so drift hits them all alike:
//   1. raw `docker run -d` on Docker's default bridge (the floor: one CLI call, nothing else);
//   2. the same work as the agent done with the docker CLI: `docker network create` (ICC off),
//      `docker volume create`, `docker run` with the same hardening flags;
//   3. the agent: network, volume, hardened create, start, readiness wait, over signed, pinned HTTPS.
// Bounded: `runs` rounds (default 10, at most 30), each spawn at most 60 s, the whole run 10 minutes.
// Only 127.0.0.1 and the benchmark's own containers are touched; everything is removed after each run.
import { AgentClient } from "../agent/api/client.ts";
import { waitHealthy } from "../agent/readiness.ts";
import { parseKeyring } from "../common/keyring.ts";
import {
  cleanupNode,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../test/helpers/fleet.ts";
import { percentile, table, writeSection } from "./lib/report.ts";

const RUNS = Math.min(30, Math.max(1, Number(process.argv[2] ?? 10) || 10));
const DEADLINE = Date.now() + 10 * 60_000;
const IMAGE = "clawfleet-runtime:0.1.0";
const LABEL = `clawfleet.bench=${crypto.randomUUID()}`;
const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 };
// The agent's isolation (agent/isolation.ts) as `docker run` flags.
const HARDENED = [
  "--read-only",
  "--tmpfs",
  "/tmp:rw,noexec,nosuid,nodev,size=64m",
  "--cap-drop",
  "ALL",
  "--security-opt",
  "no-new-privileges:true",
  "--user",
  "1000:1000",
  "--memory",
  `${limits.memoryMb}m`,
  "--memory-swap",
  `${limits.memoryMb}m`,
  "--cpus",
  String(limits.cpuMillis / 1000),
  "--pids-limit",
  String(limits.pidsLimit),
  "--restart",
  "on-failure:5",
  "--log-opt",
  "max-size=5m",
  "--log-opt",
  "max-file=2",
  "--label",
  LABEL,
];

function docker(args: string[]): string {
  const proc = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`docker ${args[0]}: ${proc.stderr.toString().trim()}`);
  return proc.stdout.toString().trim();
}

async function ready(name: string) {
  if (Date.now() > DEADLINE) throw new Error("the benchmark exceeded its 10-minute bound");
  const port = Number(docker(["port", name, "8080/tcp"]).split("\n")[0]?.split(":").pop());
  if (!(await waitHealthy({ port, path: "/healthz", timeoutMs: 60_000 })))
    throw new Error(`${name} did not become ready within 60 s`);
}

async function rawRun(): Promise<number> {
  const name = `bench-raw-${crypto.randomUUID().slice(0, 8)}`;
  const start = performance.now();
  try {
    docker(["run", "-d", "--name", name, ...HARDENED, "-p", "127.0.0.1::8080", IMAGE]);
    await ready(name);
    return performance.now() - start;
  } finally {
    Bun.spawnSync(["docker", "rm", "-f", "-v", name]);
  }
}

async function rawSameWork(): Promise<number> {
  const id = crypto.randomUUID().slice(0, 8);
  const name = `bench-same-${id}`;
  const start = performance.now();
  try {
    docker([
      "network",
      "create",
      "--label",
      LABEL,
      "-o",
      "com.docker.network.bridge.enable_icc=false",
      "-o",
      `com.docker.network.bridge.name=cf-bench${id.slice(0, 6)}`,
      name,
    ]);
    docker(["volume", "create", "--label", LABEL, name]);
    docker([
      "run",
      "-d",
      "--name",
      name,
      ...HARDENED,
      "--network",
      name,
      "--mount",
      `type=volume,source=${name},target=/data`,
      "-p",
      "127.0.0.1::8080",
      IMAGE,
    ]);
    await ready(name);
    return performance.now() - start;
  } finally {
    Bun.spawnSync(["docker", "rm", "-f", "-v", name]);
    Bun.spawnSync(["docker", "volume", "rm", "-f", name]);
    Bun.spawnSync(["docker", "network", "rm", name]);
  }
}

await ensureRuntimeImage();
const agent = await startTestAgent({ CLAWFLEET_LOG_LEVEL: "error" });
const client = new AgentClient({
  url: agent.url,
  fingerprint: agent.fingerprint,
  keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
});

async function viaAgent(): Promise<number> {
  const sessionId = crypto.randomUUID();
  const start = performance.now();
  try {
    await client.spawn({
      sessionId,
      template: "clawfleet-runtime",
      limits,
      volume: volumeKey(),
    });
    return performance.now() - start;
  } finally {
    await client.remove(sessionId);
  }
}

const results = { raw: [] as number[], same: [] as number[], agent: [] as number[] };
try {
  await client.health(); // TLS pinning and the first connection are not part of a spawn
  for (let i = 0; i < RUNS; i++) {
    // The agent's warm pool refills after each spawn: never while something is timed.
    await agent.manager.warmPoolIdle();
    results.raw.push(await rawRun());
    results.same.push(await rawSameWork());
    await agent.manager.warmPoolIdle();
    results.agent.push(await viaAgent());
    process.stderr.write(`round ${i + 1}/${RUNS}\n`);
  }
} finally {
  await agent.stop();
  await cleanupNode(agent.nodeId);
  for (const kind of ["container", "volume", "network"]) {
    const ids = Bun.spawnSync([
      "docker",
      kind,
      "ls",
      "-q",
      ...(kind === "container" ? ["-a"] : []),
      "--filter",
      `label=${LABEL}`,
    ])
      .stdout.toString()
      .split("\n")
      .filter(Boolean);
    if (ids.length) Bun.spawnSync(["docker", kind, "rm", "-f", ...ids]);
  }
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const baseline = percentile(results.raw, 50);
const row = (label: string, v: number[]) => [
  label,
  ms(percentile(v, 50)),
  ms(percentile(v, 95)),
  ms(Math.min(...v)),
  ms(mean(v)),
  v === results.raw
    ? "—"
    : `${percentile(v, 50) - baseline >= 0 ? "+" : ""}${ms(percentile(v, 50) - baseline)}`,
  v.length,
];
const report = table(
  ["spawn → /healthz 200", "p50", "p95", "min", "mean", "p50 vs raw", "runs"],
  [
    row("raw `docker run -d`, default bridge (baseline)", results.raw),
    row("docker CLI doing the agent's work: network (ICC off) + volume + hardened run", results.same),
    row("agent: signed POST /v1/containers (network, volume, hardened create, start, wait)", results.agent),
  ],
);
console.log(report);
const cpus = require("node:os").cpus().length;
const version = docker(["version", "--format", "{{.Server.Version}}"]);
const path = writeSection(
  "Agent spawn",
  `Command: \`bun bench/agent_spawn.ts ${RUNS}\` (root, Docker; builds the runtime image if needed). Measured
${new Date().toISOString().slice(0, 10)} on Docker ${version}, ${process.arch}, ${cpus} cores, image \`${IMAGE}\`, limits
${limits.memoryMb} MiB / ${limits.cpuMillis / 1000} CPU / ${limits.pidsLimit} pids. Each round runs the three methods one
after the other; every method ends with the same readiness wait (agent/readiness.ts: GET /healthz on the
127.0.0.1-published port every 100 ms). The docker CLI rows include the CLI's own start-up (one process per
command); the agent talks to the Engine API directly and its figure includes the signed HTTPS request.

${report}`,
);
console.log(`written to ${path}`);
