// `bun bench/profile_spawn.ts [runs]`: one agent spawn taken apart, step by step. Each round runs a
// raw `docker run` + the readiness wait (the baseline of bench/spawn_and_proxy.ts) and then one signed
// POST /v1/containers whose steps the agent times itself (ContainerManager.onSpawnProfiled: spans
// around every Docker call, the volume's tools, the network, create, start, readiness). Prints, per
// step, the p50 of its start and its duration within the spawn; steps that overlap ran side by side.
// "HTTPS, signing, routing" is the client's total minus the spawn the agent timed.
// Bounded: `runs` rounds (default 10, at most 30), the whole run 5 minutes; only 127.0.0.1 and the
// bench's own containers are used, and everything is removed after each round.
import { AgentClient } from "../agent/api/client.ts";
import type { Span } from "../agent/spawn/spans.ts";
import { parseKeyring } from "../common/keyring.ts";
import {
  cleanupNode,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../test/helpers/fleet.ts";
import { rawDockerRun } from "./lib/raw_docker_run.ts";
import { percentile, table } from "./lib/report.ts";

const RUNS = Math.min(30, Math.max(1, Number(process.argv[2] ?? 10) || 10));
const DEADLINE = Date.now() + 5 * 60_000;
const IMAGE = "clawfleet-runtime:0.1.0";
const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 };

const rawPhases = { run: [] as number[], port: [] as number[], wait: [] as number[] };

await ensureRuntimeImage();
const agent = await startTestAgent({ CLAWFLEET_LOG_LEVEL: "error" });
const client = new AgentClient({
  url: agent.url,
  fingerprint: agent.fingerprint,
  keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
});
const raw: number[] = [];
const total: number[] = [];
const rounds: Span[][] = [];
let last: Span[] = [];
agent.manager.onSpawnProfiled = (spans) => {
  last = spans;
};
try {
  await client.health();
  for (let i = 0; i < RUNS && Date.now() < DEADLINE; i++) {
    // The warm pool refills after each spawn: never while something is timed.
    await agent.manager.warmPoolIdle();
    raw.push(await rawDockerRun(IMAGE, (phase, ms) => rawPhases[phase].push(ms)));
    await agent.manager.warmPoolIdle();
    const sessionId = crypto.randomUUID();
    const start = performance.now();
    await client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume: volumeKey() });
    total.push(performance.now() - start);
    rounds.push(last);
    await client.remove(sessionId);
  }
} finally {
  await agent.stop();
  await cleanupNode(agent.nodeId);
}

const names = [...new Set(rounds.flatMap((spans) => spans.map((s) => s.name)))];
const ms = (v: number) => `${v.toFixed(1)}`;
const rows = names.map((name) => {
  const found = rounds.map((spans) => spans.find((s) => s.name === name)).filter((s) => s !== undefined);
  return [
    name,
    ms(
      percentile(
        found.map((s) => s.startMs),
        50,
      ),
    ),
    ms(
      percentile(
        found.map((s) => s.endMs - s.startMs),
        50,
      ),
    ),
    ms(
      percentile(
        found.map((s) => s.endMs),
        50,
      ),
    ),
    found.length,
  ];
});
const agentSpawn = rounds.map((spans) => Math.max(...spans.map((s) => s.endMs)));
const overhead = total.map((t, i) => t - (agentSpawn[i] ?? 0));
rows.push([
  "HTTPS, signing, routing (client total − agent's spawn)",
  "",
  ms(percentile(overhead, 50)),
  "",
  total.length,
]);
rows.push(["**agent spawn, client's view**", "0", ms(percentile(total, 50)), "", total.length]);
rows.push(["raw `docker run` + the same wait (baseline)", "0", ms(percentile(raw, 50)), "", raw.length]);
rows.push([
  "· raw: `docker run -d` (CLI: create + start)",
  "",
  ms(percentile(rawPhases.run, 50)),
  "",
  raw.length,
]);
rows.push(["· raw: `docker port` (CLI)", "", ms(percentile(rawPhases.port, 50)), "", raw.length]);
rows.push(["· raw: readiness wait", "", ms(percentile(rawPhases.wait, 50)), "", raw.length]);
const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(`runs ${total.length}, load average after: ${load}`);
console.log(table(["step (ms, p50)", "starts at", "takes", "ends at", "runs"], rows));
