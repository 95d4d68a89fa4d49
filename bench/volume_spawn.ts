// `bun bench/volume_spawn.ts [runs]`: what encrypted volumes add to a spawn (docs/BENCHMARKS.md,
// "Encrypted volumes"). Two parts, in one run:
//   1. the volume's own steps (agent/volumes/), per plan size: a first attach (fallocate, mkfs.ext4,
//      loop, mount, key, policy), a re-attach after a detach (what a reboot costs), freeze's key
//      removal and restore's key addition, and the kill's destroy;
//   2. spawn → /healthz 200 through the agent, rounds alternating between: raw `docker run` (the
//      baseline), the agent with a fresh volume (formatting on the hot path), and the agent re-spawning
//      a session whose image already exists (no formatting), so the difference is the format's cost.
// Bounded: `runs` rounds (default 10, at most 30), the whole run 10 minutes. Only the benchmark's own
// images, loop devices, containers and 127.0.0.1 are touched; everything is removed afterwards.
import { rmSync } from "node:fs";
import { AgentClient } from "../agent/api/client.ts";
import { waitHealthy } from "../agent/readiness.ts";
import { VolumeManager } from "../agent/volumes/volumes.ts";
import { parseKeyring } from "../common/keyring.ts";
import {
  cleanupNode,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../test/helpers/fleet.ts";
import { tempDir } from "../test/helpers/process.ts";
import { percentile, table, writeSection } from "./lib/report.ts";

const RUNS = Math.min(30, Math.max(1, Number(process.argv[2] ?? 10) || 10));
const DEADLINE = Date.now() + 10 * 60_000;
const IMAGE = "clawfleet-runtime:0.1.0";
const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 1024 };
const owner = { uid: 0, gid: 0, mode: 0o700 };

function bounded() {
  if (Date.now() > DEADLINE) throw new Error("the benchmark exceeded its 10-minute bound");
}

async function timed(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

// Part 1: the volume's steps alone.
const root = tempDir("cf-bench-volumes");
const volumes = new VolumeManager(root, true);
const steps: Record<string, number[]> = {};
const add = (name: string, ms: number) => {
  steps[name] ??= [];
  steps[name].push(ms);
};
const sizes = [1024, 4096, 16384];
try {
  for (let i = 0; i < RUNS; i++) {
    for (const sizeMb of sizes) {
      bounded();
      const id = crypto.randomUUID();
      const key = volumeKey().key;
      const bytes = () => new Uint8Array(Buffer.from(key, "base64"));
      add(
        `first attach, ${sizeMb / 1024} GiB (fallocate, mkfs, loop, mount, key, policy)`,
        await timed(() => volumes.ensure(id, { sizeMb, key: bytes(), owner })),
      );
      add(`freeze: key removal, ${sizeMb / 1024} GiB`, await timed(() => volumes.lock(id)));
      add(
        `restore: key added again, ${sizeMb / 1024} GiB`,
        await timed(() => volumes.ensure(id, { sizeMb: null, key: bytes(), owner })),
      );
      await volumes.detach(id);
      add(
        `re-attach after a reboot (loop, mount, key), ${sizeMb / 1024} GiB`,
        await timed(() => volumes.ensure(id, { sizeMb: null, key: bytes(), owner })),
      );
      add(`kill: key, unmount, detach, delete, ${sizeMb / 1024} GiB`, await timed(() => volumes.destroy(id)));
    }
    process.stderr.write(`volume round ${i + 1}/${RUNS}\n`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

// Part 2: spawn → ready.
await ensureRuntimeImage();
const agent = await startTestAgent({ CLAWFLEET_LOG_LEVEL: "error" });
const client = new AgentClient({
  url: agent.url,
  fingerprint: agent.fingerprint,
  keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
});

function docker(args: string[]): string {
  const proc = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`docker ${args[0]}: ${proc.stderr.toString().trim()}`);
  return proc.stdout.toString().trim();
}

async function rawRun(): Promise<number> {
  const name = `bench-raw-${crypto.randomUUID().slice(0, 8)}`;
  const start = performance.now();
  try {
    docker([
      "run",
      "-d",
      "--name",
      name,
      "--read-only",
      "--cap-drop",
      "ALL",
      "--user",
      "1000:1000",
      "--memory",
      "256m",
      "--pids-limit",
      "128",
      "-p",
      "127.0.0.1::8080",
      IMAGE,
    ]);
    const port = Number(docker(["port", name, "8080/tcp"]).split("\n")[0]?.split(":").pop());
    if (!(await waitHealthy({ port, path: "/healthz", timeoutMs: 60_000 }))) throw new Error("not ready");
    return performance.now() - start;
  } finally {
    Bun.spawnSync(["docker", "rm", "-f", "-v", name]);
  }
}

const spawns = { raw: [] as number[], fresh: [] as number[], existing: [] as number[] };
try {
  await client.health();
  for (let i = 0; i < RUNS; i++) {
    bounded();
    spawns.raw.push(await rawRun());
    const sessionId = crypto.randomUUID();
    const volume = volumeKey();
    const spec = { sessionId, template: "clawfleet-runtime", limits, volume };
    spawns.fresh.push(await timed(() => client.spawn(spec)));
    // The container goes, the image stays: the next spawn finds its volume and formats nothing.
    docker(["rm", "-f", `clawfleet-${sessionId}`]);
    spawns.existing.push(await timed(() => client.spawn(spec)));
    await client.remove(sessionId);
    process.stderr.write(`spawn round ${i + 1}/${RUNS}\n`);
  }
} finally {
  await agent.stop();
  await cleanupNode(agent.nodeId, agent.dataDir);
  rmSync(agent.dataDir, { recursive: true, force: true });
}

const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
const stepTable = table(
  ["volume step", "p50", "p95", "runs"],
  Object.entries(steps).map(([name, v]) => [name, ms(percentile(v, 50)), ms(percentile(v, 95)), v.length]),
);
const baseline = percentile(spawns.raw, 50);
const spawnRow = (label: string, v: number[]) => [
  label,
  ms(percentile(v, 50)),
  ms(percentile(v, 95)),
  v === spawns.raw ? "—" : `+${ms(percentile(v, 50) - baseline)}`,
  v.length,
];
const spawnTable = table(
  ["spawn → /healthz 200", "p50", "p95", "p50 vs raw", "runs"],
  [
    spawnRow("raw `docker run -d` (baseline)", spawns.raw),
    spawnRow("agent, new session: the 1 GiB volume is made on the hot path", spawns.fresh),
    spawnRow("agent, respawn: the volume exists (loop, mount, key only)", spawns.existing),
  ],
);
console.log(`${stepTable}\n\n${spawnTable}`);
const load = require("node:os").loadavg()[0].toFixed(1);
const path = writeSection(
  "Encrypted volumes",
  `Command: \`bun bench/volume_spawn.ts ${RUNS}\` (root, Docker, loop devices, ext4 encryption). Measured
${new Date().toISOString().slice(0, 10)}, x64, ${require("node:os").cpus().length} cores shared with other work (load average ${load} at the end:
absolute figures are noisy; compare rows of the same table, measured alternately in one run).
Images are preallocated (\`fallocate\`), formatted with lazy inode tables and journal, 4 KiB blocks.

${stepTable}

${spawnTable}

The respawn row also skips creating the network (it outlives the removed container), so "new session
minus respawn" is the network plus the volume; the volume alone is the "first attach" row above.
**Decision:** no pool of pre-formatted images. Formatting is a preallocation and a lazy mkfs, tens of
milliseconds for the plans' sizes, and a pool would hold keyless, unowned images on every node, sized
for one plan, to save less than the spread between two runs of the same spawn.`,
);
console.log(`written to ${path}`);
