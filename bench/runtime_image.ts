// `bun bench/runtime_image.ts`: the runtime image's size and its container's memory, idle and after a
// bounded burst of chats, beside baselines measured in the same run: the raw compiled binary and
// busybox sizes, and an idle busybox process under the same isolation. Writes the figures under
// "## Runtime image" in docs/BENCHMARKS.md (other sections of that file are left as they are).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildRuntimeImage, RUNTIME_IMAGE } from "../scripts/image_runtime.ts";
import { ISOLATION_FLAGS } from "../test/helpers/docker_flags.ts";
import { createNetns, startFakeProviderInNetns } from "../test/helpers/netns.ts";
import { waitForHttp } from "../test/helpers/process.ts";
import { GatewayClient } from "../test/runtime/gateway_client.ts";

const SAMPLES = 5;
const SETTLE_MS = 3000;
const CHATS = 20;
const DEADLINE = Date.now() + 180_000;
const DOCKER_SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";
const ISOLATION = ISOLATION_FLAGS;

function docker(args: string[]): string {
  const proc = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`docker ${args[0]}: ${proc.stderr.toString().trim()}`);
  return proc.stdout.toString().trim();
}

function checkDeadline(): void {
  if (Date.now() > DEADLINE) throw new Error("benchmark exceeded its 180 s bound");
}

type MemoryStats = { usage: number; stats: Record<string, number> };

type Memory = { shown: number; anon: number };

/**
 * `shown`: what `docker stats` shows (usage without inactive page cache). It depends on which cgroup
 * first read the image's files into the page cache. `anon`: the cgroup's anonymous memory (rss), the
 * process's own heap and stacks, which does not.
 */
async function memory(container: string): Promise<Memory> {
  const response = await fetch(`http://docker/containers/${container}/stats?stream=false`, {
    unix: DOCKER_SOCKET,
  });
  const { memory_stats: stats } = (await response.json()) as { memory_stats: MemoryStats };
  const inactive = stats.stats.total_inactive_file ?? stats.stats.inactive_file ?? 0;
  return { shown: stats.usage - inactive, anon: stats.stats.total_rss ?? stats.stats.anon ?? 0 };
}

async function sampleMemory(container: string): Promise<Memory> {
  const samples: Memory[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    checkDeadline();
    samples.push(await memory(container));
    await Bun.sleep(1000);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  return { shown: median(samples.map((s) => s.shown)), anon: median(samples.map((s) => s.anon)) };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const mem = (m: Memory) => `${mib(m.anon)} anonymous, ${mib(m.shown)} in docker stats`;

const suffix = crypto.randomUUID().slice(0, 8);
const runtimeName = `cf-bench-runtime-${suffix}`;
const busyboxName = `cf-bench-busybox-${suffix}`;
const volume = `cf-bench-runtime-${suffix}`;
const netns = await createNetns();
try {
  const build = await buildRuntimeImage();
  const imageSize = Number(docker(["image", "inspect", "--format", "{{.Size}}", RUNTIME_IMAGE]));
  const sizeOf = (path: string) =>
    Number(docker(["run", "--rm", "--entrypoint", "/bin/busybox", RUNTIME_IMAGE, "stat", "-c", "%s", path]));
  const binarySize = sizeOf("/usr/local/bin/clawfleet-runtime");
  const busyboxSize = sizeOf("/bin/busybox");

  const provider = await startFakeProviderInNetns(netns);
  const key = `bench-${crypto.randomUUID()}`;
  const token = `bench-token-${crypto.randomUUID()}`;
  docker([
    "run",
    "-d",
    "--name",
    runtimeName,
    ...ISOLATION,
    "-p",
    "127.0.0.1::8080",
    "-v",
    `${volume}:/data`,
    "-e",
    `OPENAI_API_KEY=${key}`,
    "-e",
    `CLAWFLEET_OPENAI_BASE_URL=http://${netns.address}/v1`,
    "-e",
    `CLAWFLEET_GATEWAY_TOKEN=${token}`,
    RUNTIME_IMAGE,
  ]);
  const port = docker(["port", runtimeName, "8080/tcp"]).split("\n")[0]?.split(":").at(-1);
  const readyStart = performance.now();
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 20_000);
  const readyMs = performance.now() - readyStart;
  await Bun.sleep(SETTLE_MS);
  const idle = await sampleMemory(runtimeName);

  const client = await GatewayClient.connect(`ws://127.0.0.1:${port}/gateway`, token);
  const chatStart = performance.now();
  for (let i = 0; i < CHATS; i++) {
    checkDeadline();
    const outcome = await client.chat({
      text: `message ${i} ${"lorem ipsum ".repeat(50)}`,
      conversation_id: "bench",
    });
    if (!outcome.done) throw new Error(`chat ${i} failed: ${JSON.stringify(outcome.error)}`);
  }
  const chatMs = (performance.now() - chatStart) / CHATS;
  client.close();
  await Bun.sleep(SETTLE_MS);
  const afterChats = await sampleMemory(runtimeName);

  docker([
    "run",
    "-d",
    "--name",
    busyboxName,
    ...ISOLATION,
    "--entrypoint",
    "/bin/busybox",
    RUNTIME_IMAGE,
    "sleep",
    "600",
  ]);
  await Bun.sleep(SETTLE_MS);
  const busyboxIdle = await sampleMemory(busyboxName);

  const dockerVersion = docker(["version", "--format", "{{.Server.Version}}"]);
  const rows: [string, string][] = [
    [`image \`${RUNTIME_IMAGE}\` (docker image inspect .Size)`, mib(imageSize)],
    ["baseline: the compiled runtime binary alone (bun build --compile)", mib(binarySize)],
    ["baseline: busybox-static binary", mib(busyboxSize)],
    ["runtime container, idle (median of 5 stats samples)", mem(idle)],
    [`runtime container after ${CHATS} streamed chats`, mem(afterChats)],
    ["baseline: busybox `sleep` under the same isolation, idle", mem(busyboxIdle)],
    ["start to /healthz 200 (after docker run returns)", `${readyMs.toFixed(0)} ms`],
    ["one chat turn through the gateway to the fake provider (mean)", `${chatMs.toFixed(1)} ms`],
  ];
  const table = [
    "| measure | value |",
    "|---|---|",
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
  ].join("\n");
  console.log(table);

  const section = `## Runtime image

Command: \`bun bench/runtime_image.ts\` (root, Docker; builds the image if needed). Measured
${new Date().toISOString().slice(0, 10)} on Docker ${dockerVersion}, ${process.arch}, ${build.built ? "image rebuilt" : "image up to date"}; containers
run with the agent's isolation flags and a 256 MiB limit; memory from the Engine API's stats endpoint
(median of ${SAMPLES} samples a second apart, after ${SETTLE_MS / 1000} s of quiet). "Anonymous" is the cgroup's rss:
the process's own heap and stacks. "docker stats" is usage minus inactive page cache; it also counts
page cache the container was first to read (the ${mib(binarySize)} binary is mapped from the image, not
copied into memory), so it varies with what ran before.

${table}
`;
  const path = join(import.meta.dir, "../docs/BENCHMARKS.md");
  const current = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
  const start = current.indexOf("## Runtime image");
  let next: string;
  if (start === -1) {
    next = `${current.trimEnd()}\n\n${section}`;
  } else {
    const end = current.indexOf("\n## ", start + 1);
    next = current.slice(0, start) + section + (end === -1 ? "" : current.slice(end + 1));
  }
  writeFileSync(path, next);
  console.log(`written to ${path}`);
  await provider.stop();
} finally {
  Bun.spawnSync(["docker", "rm", "-f", "-v", runtimeName, busyboxName]);
  Bun.spawnSync(["docker", "volume", "rm", "-f", volume]);
  await netns.stop();
}
