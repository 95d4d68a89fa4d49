// `bun bench/spawn_and_proxy.ts [runs]`: in one run, side by side
//   1. spawn → ready: raw `docker run` of the runtime image + the same readiness wait, the agent's
//      POST /v1/containers, and the API's POST /api/v1/session/spawn, then GET /session until running
//      (long-polled with ?wait=30 for the RATIO line, and plainly every 20 ms for comparison);
//   2. WebSocket round trip and throughput: straight to the container's published port (the baseline),
//      to its bridge address, through nginx as a plain reverse proxy, through the agent alone, and
//      through the server's /api/v1/session/gateway → agent → container;
//   3. bulk: 1 MiB binary frames echoed back (MiB/s), direct, through nginx, the agent alone and server
//      → agent (bench/lib/ws_bulk.ts: the far end is an echo server, the hops in front of it are real).
// The WebSocket paths are measured in alternating rounds, so that a drift of the machine falls on all.
// Ends with machine-readable `RATIO name=value` lines, each computed from figures of this run.
// Bounded: `runs` spawns per method (default 20, at most 50) within a 120 s spawn budget, 2,000 round
// trips, 20,000 messages and 64 MiB of bulk per path, and a 3.5-minute deadline for the whole run.
// Only 127.0.0.1 and its own containers are used.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentClient } from "../agent/api/client.ts";
import { type ClusterKey, signRequest } from "../agent/api/contract.ts";
import { AGENT_API_VERSION, VERSION_HEADER } from "../agent/api/route_table.ts";
import { parseKeyring } from "../common/keyring.ts";
import { addNode } from "../src/fleet/nodes.ts";
import {
  cleanupNode,
  dockerNetworkSide,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../test/helpers/fleet.ts";
import { freePort, tempDir } from "../test/helpers/process.ts";
import { startTestServer } from "../test/helpers/server.ts";
import { rawDockerRun } from "./lib/raw_docker_run.ts";
import { percentile, table, writeSection } from "./lib/report.ts";
import { startEchoServer } from "./lib/ws_bulk.ts";

const RUNS = Math.min(50, Math.max(1, Number(process.argv[2] ?? 20)));
const RTT_MESSAGES = 2_000;
const THROUGHPUT_MESSAGES = 20_000;
const BULK_FRAMES = 64;
const BULK_WINDOW = 4;
/** The WebSocket paths are measured in this many alternating rounds (each a share of the counts). */
const WS_ROUNDS = 4;
const STARTED = Date.now();
const SPAWN_BUDGET_MS = 120_000;
const DEADLINE = STARTED + 210_000;
const IMAGE = "clawfleet-runtime:0.1.0";
const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 };

function guard() {
  if (Date.now() > DEADLINE) throw new Error("benchmark exceeded its 10-minute bound");
}

/** Runs bench/lib/ws_client.ts in its own process on one path and returns what it measured. */
async function wsClient<T>(job: Record<string, unknown>): Promise<T> {
  const proc = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "lib/ws_client.ts"),
      JSON.stringify({ ...job, deadlineMs: Math.max(1000, DEADLINE - Date.now()) }),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const text = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`the WebSocket client failed on ${String(job.url)}`);
  return JSON.parse(text.trim().split("\n").pop() ?? "{}") as T;
}

type PingRound = { rtts: number[]; count: number; seconds: number };
type BulkRound = { mib: number; seconds: number };

function measureWs(url: string, headers: Record<string, string>, ca?: string) {
  return wsClient<PingRound>({
    url,
    headers,
    ca,
    mode: "ping",
    rtt: RTT_MESSAGES / WS_ROUNDS,
    throughput: THROUGHPUT_MESSAGES / WS_ROUNDS,
  });
}

/**
 * Measures every path in turn, WS_ROUNDS times over: a drift of the machine during the run (these
 * figures move by tens of per cent from one minute to the next) then falls on every path alike
 * instead of on whichever was measured at the time.
 */
async function alternate<T>(paths: Record<string, () => Promise<T>>): Promise<Record<string, T[]>> {
  const rounds: Record<string, T[]> = Object.fromEntries(Object.keys(paths).map((name) => [name, []]));
  for (let round = 0; round < WS_ROUNDS; round++) {
    for (const [name, measure] of Object.entries(paths)) {
      guard();
      rounds[name]?.push(await measure());
    }
  }
  return rounds;
}

/** Round trips of all rounds together; throughput as all messages over all their time. */
function pingOf(rounds: PingRound[] = []) {
  const rtts = rounds.flatMap((r) => r.rtts);
  const count = rounds.reduce((n, r) => n + r.count, 0);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  return { p50: percentile(rtts, 50), p95: percentile(rtts, 95), perSecond: count / seconds };
}

function mibPerSecondOf(rounds: BulkRound[] = []) {
  return rounds.reduce((n, r) => n + r.mib, 0) / rounds.reduce((n, r) => n + r.seconds, 0);
}

async function measureBulk(
  url: string,
  headers: Record<string, string> = {},
  ca?: string,
): Promise<BulkRound> {
  const frames = BULK_FRAMES / WS_ROUNDS;
  const { mibPerSecond } = await wsClient<{ mibPerSecond: number }>({
    url,
    headers,
    ca,
    mode: "bulk",
    frames,
    window: BULK_WINDOW,
  });
  return { mib: frames, seconds: frames / mibPerSecond };
}

/** nginx as a plain reverse proxy in front of the container's port (the third WebSocket baseline). */
async function startNginx(targetPort: number): Promise<{ port: number; stop(): void } | null> {
  if (Bun.spawnSync(["sh", "-c", "command -v nginx"]).exitCode !== 0) {
    Bun.spawnSync(["apt-get", "install", "-y", "-qq", "nginx-light"], { stdout: "ignore", stderr: "ignore" });
    if (Bun.spawnSync(["sh", "-c", "command -v nginx"]).exitCode !== 0) return null;
  }
  const dir = tempDir("cf-nginx");
  const port = await freePort();
  await Bun.write(
    `${dir}/nginx.conf`,
    `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${targetPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 600s;
    }
  }
}
`,
  );
  const proc = Bun.spawn(["nginx", "-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"], {
    stdout: "ignore",
    stderr: "inherit",
  });
  for (let i = 0; i < 50; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await Bun.sleep(100);
  }
  return { port, stop: () => proc.kill() };
}

await ensureRuntimeImage();
// Two agents: one the server schedules onto, one driven directly (the server's reconciler would
// rightly remove containers it did not ask for).
const agent = await startTestAgent();
const direct = await startTestAgent();
const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
const client = new AgentClient({ url: direct.url, fingerprint: direct.fingerprint, keys });
const serverAgent = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
const server = await startTestServer("postgres", {
  env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET, CLAWFLEET_LOG_LEVEL: "error" },
});
const machineLines: string[] = [];
try {
  await addNode(server.ctx.database.db, { name: "bench", url: agent.url, fingerprint: agent.fingerprint });
  await server.reconcile();
  const signup = (await (
    await fetch(`${server.url}/api/v1/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: `bench-${crypto.randomUUID().slice(0, 6)}@example.test`,
        password: "correct horse battery staple",
      }),
    })
  ).json()) as { access_token: string; user: { id: string } };
  await server.ctx.database.db.execute(
    `update users set plan_id = 'ultra' where id = '${signup.user.id}'` as never,
  );
  const api = (path: string, method = "GET") =>
    fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${signup.access_token}` },
    });

  /**
   * POST spawn, then GET /session until running: `wait` long-polls (?wait=30: each answer comes when
   * the state or spawn step changes), otherwise a plain poll every 20 ms.
   */
  const apiSpawn = async (wait: boolean): Promise<number> => {
    const start = performance.now();
    await api("/session/spawn", "POST");
    for (;;) {
      guard();
      const s = (await (await api(wait ? "/session?wait=30" : "/session")).json()) as { state: string };
      if (s.state === "running") break;
      if (s.state === "failed") throw new Error("spawn failed");
      if (!wait) await Bun.sleep(20);
    }
    return performance.now() - start;
  };
  const raw: number[] = [];
  const viaAgent: number[] = [];
  const viaApi: number[] = [];
  const viaApiPolled: number[] = [];
  // Before each timed spawn, both agents' warm pools are refilled (they refill after each spawn): a
  // refill must never overlap a measurement, the baseline's least of all.
  const quiet = () => Promise.all([agent.manager.warmPoolIdle(), direct.manager.warmPoolIdle()]);
  for (let i = 0; i < RUNS && Date.now() - STARTED < SPAWN_BUDGET_MS; i++) {
    await quiet();
    raw.push(await rawDockerRun(IMAGE));
    await quiet();
    const sessionId = crypto.randomUUID();
    const start = performance.now();
    await client.spawn({
      sessionId,
      template: "clawfleet-runtime",
      limits,
      volume: volumeKey(),
    });
    viaAgent.push(performance.now() - start);
    await client.remove(sessionId);
    await quiet();
    viaApiPolled.push(await apiSpawn(false));
    await api("/session/kill", "POST");
    await quiet();
    viaApi.push(await apiSpawn(true));
    if (i < RUNS - 1 && Date.now() - STARTED < SPAWN_BUDGET_MS) await api("/session/kill", "POST");
  }
  const runsDone = raw.length;

  const [container] = await serverAgent.list();
  // Its published port: its own, or its sandbox's when it joined one (agent/spawn/sandboxes.ts).
  const inspect = dockerNetworkSide(container?.dockerId ?? "");
  const port = Number(inspect?.NetworkSettings.Ports["8080/tcp"][0].HostPort);
  const token = await agent.manager.gatewayToken(container?.sessionId ?? "");
  const gatewayHeaders = { authorization: `Bearer ${token}` };
  const proxiedUrl = `${server.url.replace("http", "ws")}/api/v1/session/gateway`;
  const userHeaders = { authorization: `Bearer ${signup.access_token}` };
  const agentPath = `/v1/containers/${container?.sessionId}/gateway`;
  const agentUrl = `${agent.url.replace("https", "wss")}${agentPath}`;
  const agentCa = readFileSync(join(agent.dataDir, "agent-cert.pem"), "utf8");
  // Each connection to the agent carries a fresh signature (a nonce is accepted once).
  const signedHeaders = async () => ({
    ...(await signRequest(keys[0] as ClusterKey, "GET", agentPath)),
    [VERSION_HEADER]: AGENT_API_VERSION,
  });
  const bridgeUrl = (await agent.manager.gatewayTarget(container?.sessionId ?? "")).url;
  const nginx = await startNginx(port);
  // Beside the baseline and the proxied path, two rows place the cost of each hop: the container's
  // bridge address (no docker-proxy; what the agent reaches) and the agent alone, without the server.
  const ping = await alternate({
    straight: () => measureWs(`ws://127.0.0.1:${port}/gateway`, gatewayHeaders),
    bridge: () => measureWs(bridgeUrl, gatewayHeaders),
    ...(nginx ? { nginx: () => measureWs(`ws://127.0.0.1:${nginx.port}/gateway`, gatewayHeaders) } : {}),
    agentOnly: async () => measureWs(agentUrl, await signedHeaders(), agentCa),
    proxied: () => measureWs(proxiedUrl, userHeaders),
  });
  nginx?.stop();
  const straight = pingOf(ping.straight);
  const bridge = pingOf(ping.bridge);
  const viaNginx = ping.nginx ? pingOf(ping.nginx) : null;
  const agentOnly = pingOf(ping.agentOnly);
  const proxied = pingOf(ping.proxied);

  // Bulk: the same paths with an echo server as the far end (the agent's target is swapped in this
  // process only; the server, the agent's TLS and signing, the relay and the splice are unchanged).
  const echo = startEchoServer();
  const bulkNginxProxy = await startNginx(echo.port);
  const realTarget = agent.manager.gatewayTarget.bind(agent.manager);
  agent.manager.gatewayTarget = async (sessionId: string) => ({
    ...(await realTarget(sessionId)),
    url: `ws://127.0.0.1:${echo.port}/`,
  });
  const bulk = await alternate({
    direct: () => measureBulk(`ws://127.0.0.1:${echo.port}/`),
    ...(bulkNginxProxy ? { nginx: () => measureBulk(`ws://127.0.0.1:${bulkNginxProxy.port}/`) } : {}),
    agentOnly: async () => measureBulk(agentUrl, await signedHeaders(), agentCa),
    proxied: () => measureBulk(proxiedUrl, userHeaders),
  });
  agent.manager.gatewayTarget = realTarget;
  bulkNginxProxy?.stop();
  echo.stop();
  const bulkDirect = mibPerSecondOf(bulk.direct);
  const bulkNginx = bulk.nginx ? mibPerSecondOf(bulk.nginx) : null;
  const bulkAgentOnly = mibPerSecondOf(bulk.agentOnly);
  const bulkProxied = mibPerSecondOf(bulk.proxied);
  await api("/session/kill", "POST");

  const ms = (v: number) => `${v.toFixed(0)} ms`;
  const spawnTable = table(
    ["spawn → ready", "p50", "p95", "runs"],
    [
      [
        "raw `docker run` + the same /healthz wait (baseline)",
        ms(percentile(raw, 50)),
        ms(percentile(raw, 95)),
        runsDone,
      ],
      [
        "agent POST /v1/containers (network, volume, hardened create, start, wait)",
        ms(percentile(viaAgent, 50)),
        ms(percentile(viaAgent, 95)),
        runsDone,
      ],
      [
        "API POST /api/v1/session/spawn, then GET /session?wait=30 until running",
        ms(percentile(viaApi, 50)),
        ms(percentile(viaApi, 95)),
        runsDone,
      ],
      [
        "API POST /api/v1/session/spawn, then GET /session every 20 ms until running",
        ms(percentile(viaApiPolled, 50)),
        ms(percentile(viaApiPolled, 95)),
        runsDone,
      ],
    ],
  );
  const wsTable = table(
    ["WebSocket to the runtime gateway", "round trip p50", "round trip p95", "throughput"],
    [
      [
        "direct to the container's 127.0.0.1 port (baseline)",
        `${straight.p50.toFixed(3)} ms`,
        `${straight.p95.toFixed(3)} ms`,
        `${straight.perSecond.toFixed(0)} msg/s`,
      ],
      [
        "direct to the container's bridge address (no docker-proxy; not the ratio's baseline)",
        `${bridge.p50.toFixed(3)} ms`,
        `${bridge.p95.toFixed(3)} ms`,
        `${bridge.perSecond.toFixed(0)} msg/s`,
      ],
      ...(viaNginx
        ? [
            [
              "through nginx 1.22 as a plain reverse proxy (baseline)",
              `${viaNginx.p50.toFixed(3)} ms`,
              `${viaNginx.p95.toFixed(3)} ms`,
              `${viaNginx.perSecond.toFixed(0)} msg/s`,
            ],
          ]
        : []),
      [
        "through the agent alone (TLS, signed, pinned; its splice) → container",
        `${agentOnly.p50.toFixed(3)} ms`,
        `${agentOnly.p95.toFixed(3)} ms`,
        `${agentOnly.perSecond.toFixed(0)} msg/s`,
      ],
      [
        "through server → agent (TLS, signed, pinned) → container",
        `${proxied.p50.toFixed(3)} ms`,
        `${proxied.p95.toFixed(3)} ms`,
        `${proxied.perSecond.toFixed(0)} msg/s`,
      ],
    ],
  );
  const mibs = (v: number) => `${v.toFixed(0)} MiB/s`;
  const bulkTable = table(
    [`1 MiB binary frames echoed, ${BULK_FRAMES} per path, ${BULK_WINDOW} in flight`, "throughput"],
    [
      ["direct to an echo server on 127.0.0.1 (baseline)", mibs(bulkDirect)],
      ...(bulkNginx !== null ? [["through nginx as a plain reverse proxy (baseline)", mibs(bulkNginx)]] : []),
      ["through the agent alone (TLS, signed, pinned; its splice) → the echo server", mibs(bulkAgentOnly)],
      ["through server → agent (TLS, signed, pinned) → the echo server", mibs(bulkProxied)],
    ],
  );
  console.log(spawnTable);
  console.log(wsTable);
  console.log(bulkTable);
  const path = writeSection(
    "Spawn and WebSocket proxy",
    `Command: \`bun bench/spawn_and_proxy.ts ${RUNS}\` (root, Docker, the PostgreSQL of scripts/services.sh). Measured
${new Date().toISOString().slice(0, 10)}, ${process.arch}, 2 cores, one node, image \`${IMAGE}\`. Spawn runs alternate between
the four methods, each after both agents' warm pools finished refilling (${runsDone} of ${RUNS} asked fitted the ${SPAWN_BUDGET_MS / 1000} s spawn budget); every method ends with the agent's
readiness wait (agent/readiness.ts). The API is measured twice: with GET /session?wait=30 (the answer
comes when the state or spawn step changes; the RATIO line) and with a plain GET every 20 ms. WebSocket figures:
${RTT_MESSAGES} sequential ping/pong round trips and ${THROUGHPUT_MESSAGES} pipelined pings per path, from a client in its own
process (bench/lib/ws_client.ts), in ${WS_ROUNDS} rounds that take the paths in turn (each round a new connection with
${RTT_MESSAGES / WS_ROUNDS} round trips, then ${THROUGHPUT_MESSAGES / WS_ROUNDS} pings); p50 and p95 are over all of a path's round trips, throughput
is all its messages over all their time. Bulk likewise: ${BULK_FRAMES / WS_ROUNDS} frames a path in each of the ${WS_ROUNDS} rounds.
Bulk: the runtime's gateway caps frames at 256 KiB and answers only small JSON, so the far end is an echo
server of the bench; the proxied row swaps only the agent's target, every hop in front of it is the real one.

${spawnTable}

${wsTable}

${bulkTable}`,
  );
  console.log(`written to ${path}`);
  // Machine-readable, one figure a line, all from this run.
  const ratio = (name: string, value: number) => machineLines.push(`RATIO ${name}=${value.toFixed(3)}`);
  ratio("spawn_agent_vs_docker_run", percentile(viaAgent, 50) / percentile(raw, 50));
  ratio("spawn_api_vs_docker_run", percentile(viaApi, 50) / percentile(raw, 50));
  // Not one of the lines: the same spawn learned by a plain 20 ms poll, for comparison.
  console.log(
    `spawn_api_polled_20ms_vs_docker_run=${(percentile(viaApiPolled, 50) / percentile(raw, 50)).toFixed(3)}`,
  );
  ratio("ws_proxied_vs_direct_throughput", proxied.perSecond / straight.perSecond);
  ratio("ws_proxied_vs_direct_bulk", bulkProxied / bulkDirect);
  ratio("ws_proxied_vs_direct_rtt", proxied.p50 / straight.p50);
} finally {
  await server.close();
  await agent.stop();
  await direct.stop();
  await cleanupNode(agent.nodeId);
  await cleanupNode(direct.nodeId);
}
// Last, after every other line (the machine-readable lines end the output).
console.log(machineLines.join("\n"));
