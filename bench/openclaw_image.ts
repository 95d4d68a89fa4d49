// `bun bench/openclaw_image.ts [runs]`: OpenClaw beside the default runtime, both spawned through a
// real agent with the same plan limits: image size, spawn → ready (the agent's POST /v1/containers:
// network, volume, hardened create, start, the template's health wait) and idle memory. Writes the
// figures under "## OpenClaw beside the default runtime" in docs/BENCHMARKS.md.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentClient } from "../agent/api/client.ts";
import { BUILTIN_TEMPLATES } from "../agent/templates.ts";
import { parseKeyring } from "../common/keyring.ts";
import { buildOpenclawImage } from "../scripts/image_openclaw.ts";
import { buildRuntimeImage } from "../scripts/image_runtime.ts";
import { cleanupNode, startTestAgent, TEST_CLUSTER_SECRET, volumeKey } from "../test/helpers/fleet.ts";

const RUNS = Math.min(10, Math.max(1, Number(process.argv[2] ?? 3)));
const SAMPLES = 5;
const SETTLE_MS = 10_000;
const limits = { cpuMillis: 2000, memoryMb: 1536, pidsLimit: 512, diskMb: 2048 };
const DOCKER_SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";

type Memory = { shown: number; anon: number };

/** As bench/runtime_image.ts: `shown` is docker stats' figure, `anon` the cgroup's anonymous memory. */
async function memory(container: string): Promise<Memory> {
  const response = await fetch(`http://docker/containers/${container}/stats?stream=false`, {
    unix: DOCKER_SOCKET,
  });
  const { memory_stats: stats } = (await response.json()) as {
    memory_stats: { usage: number; stats: Record<string, number> };
  };
  const inactive = stats.stats.total_inactive_file ?? stats.stats.inactive_file ?? 0;
  return { shown: stats.usage - inactive, anon: stats.stats.total_rss ?? stats.stats.anon ?? 0 };
}

async function idleMemory(container: string): Promise<Memory> {
  const samples: Memory[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    samples.push(await memory(container));
    await Bun.sleep(1000);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  return { shown: median(samples.map((s) => s.shown)), anon: median(samples.map((s) => s.anon)) };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] as number;

function imageSize(tag: string): number {
  const proc = Bun.spawnSync(["docker", "image", "inspect", "--format", "{{.Size}}", tag], {
    stdout: "pipe",
  });
  return Number(proc.stdout.toString().trim());
}

/** The 1-minute load average: on a shared machine, spawn times scale with it. */
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0] ?? "?";

const runtimeBuild = await buildRuntimeImage();
const openclawBuild = await buildOpenclawImage();
const agent = await startTestAgent();
const client = new AgentClient({
  url: agent.url,
  fingerprint: agent.fingerprint,
  keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
});
const templates = ["clawfleet-runtime", "openclaw"] as const;
const loadBefore = loadAverage();
const spawnMs: Record<string, number[]> = { "clawfleet-runtime": [], openclaw: [] };
const idle: Record<string, Memory> = {};
try {
  for (let run = 0; run < RUNS; run++) {
    for (const template of templates) {
      const sessionId = crypto.randomUUID();
      const started = performance.now();
      const info = await client.spawn({ sessionId, template, limits, volume: volumeKey() });
      if (!info.ready) throw new Error(`${template} did not become ready`);
      spawnMs[template]?.push(performance.now() - started);
      // Idle memory from the last run, once the gateway has settled.
      if (run === RUNS - 1) {
        await Bun.sleep(SETTLE_MS);
        idle[template] = await idleMemory(`clawfleet-${sessionId}`);
      }
      await client.remove(sessionId);
    }
  }
} finally {
  await agent.stop();
  await cleanupNode(agent.nodeId);
  rmSync(agent.dataDir, { recursive: true, force: true });
}

const loadAfter = loadAverage();
const image = (name: string) => BUILTIN_TEMPLATES.find((t) => t.name === name)?.image ?? "";
const row = (template: string) => {
  const times = spawnMs[template] ?? [];
  const mem = idle[template] as Memory;
  return `| \`${template}\` (\`${image(template)}\`) | ${mib(imageSize(image(template)))} | ${percentile(times, 0.5).toFixed(0)} ms | ${Math.max(...times).toFixed(0)} ms | ${mib(mem.anon)} anonymous, ${mib(mem.shown)} in docker stats |`;
};
const table = [
  "| template (image) | image size | spawn → ready p50 | spawn → ready max | idle memory |",
  "|---|---|---|---|---|",
  row("clawfleet-runtime"),
  row("openclaw"),
].join("\n");
console.log(table);

const section = `## OpenClaw beside the default runtime

Command: \`bun bench/openclaw_image.ts ${RUNS}\` (root, Docker; builds the images if needed). Measured
${new Date().toISOString().slice(0, 10)}, ${process.arch}, 2 cores shared with other work (load average ${loadBefore} before, ${loadAfter} after), images ${runtimeBuild.built || openclawBuild.built ? "(re)built first" : "up to date"}.
Both spawned through an in-process agent (\`POST /v1/containers\`: network, volume, hardened create,
start, the template's health wait: \`/healthz\` for the runtime, \`/readyz\` for OpenClaw),
${RUNS} runs each, alternating, with the same plan limits (${limits.memoryMb} MiB, ${limits.cpuMillis / 1000} CPUs). Idle memory: median of
${SAMPLES} Engine API stats samples a second apart, ${SETTLE_MS / 1000} s after ready (see "Runtime image" for the two figures).

${table}
`;
const path = join(import.meta.dir, "../docs/BENCHMARKS.md");
const current = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
const start = current.indexOf("## OpenClaw beside the default runtime");
let next: string;
if (start === -1) {
  next = `${current.trimEnd()}\n\n${section}`;
} else {
  const end = current.indexOf("\n## ", start + 1);
  next = current.slice(0, start) + section + (end === -1 ? "" : current.slice(end + 1));
}
writeFileSync(path, next);
console.log(`written to ${path}`);
