// `bun bench/spawn_and_proxy.ts [runs]`: in one run, side by side
//   1. spawn → ready: raw `docker run` of the runtime image + the same readiness wait, the agent's
//      POST /v1/containers, and the API's POST /api/v1/session/spawn polled until running;
//   2. WebSocket round trip and throughput: straight to the container's published port, through nginx
//      as a plain reverse proxy, and through the server's /api/v1/session/gateway → agent → container.
// Bounded: `runs` spawns per method (default 20, at most 50), 2,000 round trips and 20,000 messages
// of throughput per path, and a 10-minute deadline. Only 127.0.0.1 and its own containers are used.
import { AgentClient } from "../agent/api/client.ts";
import { parseKeyring } from "../common/keyring.ts";
import { addNode } from "../src/fleet/nodes.ts";
import { ISOLATION_FLAGS } from "../test/helpers/docker_flags.ts";
import {
  cleanupNode,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../test/helpers/fleet.ts";
import { freePort, tempDir } from "../test/helpers/process.ts";
import { startTestServer } from "../test/helpers/server.ts";
import { percentile, table, writeSection } from "./lib/report.ts";

const RUNS = Math.min(50, Math.max(1, Number(process.argv[2] ?? 20)));
const RTT_MESSAGES = 2_000;
const THROUGHPUT_MESSAGES = 20_000;
const DEADLINE = Date.now() + 10 * 60_000;
const IMAGE = "clawfleet-runtime:0.1.0";
const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 };

function guard() {
  if (Date.now() > DEADLINE) throw new Error("benchmark exceeded its 10-minute bound");
}

async function waitHealthy(port: number) {
  for (;;) {
    guard();
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await Bun.sleep(100);
  }
}

async function rawDockerRun(): Promise<number> {
  const name = `bench-raw-${crypto.randomUUID().slice(0, 8)}`;
  const start = performance.now();
  const run = Bun.spawnSync([
    "docker",
    "run",
    "-d",
    "--name",
    name,
    ...ISOLATION_FLAGS,
    "-p",
    "127.0.0.1::8080",
    IMAGE,
  ]);
  if (run.exitCode !== 0) throw new Error(run.stderr.toString());
  const port = Number(
    Bun.spawnSync(["docker", "port", name, "8080/tcp"]).stdout.toString().trim().split(":").pop(),
  );
  await waitHealthy(port);
  const elapsed = performance.now() - start;
  Bun.spawnSync(["docker", "rm", "-f", "-v", name]);
  return elapsed;
}

type Pinger = { send(data: string): void; onMessage(fn: (data: string) => void): void; close(): void };

function wrap(ws: WebSocket): Promise<Pinger> {
  return new Promise((resolve, reject) => {
    let handler: (data: string) => void = () => {};
    ws.onmessage = (e) => handler(String(e.data));
    ws.onerror = reject;
    ws.onopen = () =>
      resolve({ send: (d) => ws.send(d), onMessage: (fn) => (handler = fn), close: () => ws.close() });
  });
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

async function measureWs(connect: () => Promise<Pinger>) {
  const ws = await connect();
  await new Promise<void>((resolve) => ws.onMessage(() => resolve())); // hello
  const rtts: number[] = [];
  for (let i = 0; i < RTT_MESSAGES; i++) {
    guard();
    const start = performance.now();
    await new Promise<void>((resolve) => {
      ws.onMessage(() => resolve());
      ws.send(JSON.stringify({ type: "ping", id: `r${i}` }));
    });
    rtts.push(performance.now() - start);
  }
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let got = 0;
    ws.onMessage(() => {
      if (++got === THROUGHPUT_MESSAGES) resolve();
    });
    for (let i = 0; i < THROUGHPUT_MESSAGES; i++) ws.send(JSON.stringify({ type: "ping", id: `t${i}` }));
  });
  const seconds = (performance.now() - start) / 1000;
  ws.close();
  return { p50: percentile(rtts, 50), p95: percentile(rtts, 95), perSecond: THROUGHPUT_MESSAGES / seconds };
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

  const raw: number[] = [];
  const viaAgent: number[] = [];
  const viaApi: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    raw.push(await rawDockerRun());
    const sessionId = crypto.randomUUID();
    let start = performance.now();
    await client.spawn({
      sessionId,
      template: "clawfleet-runtime",
      limits,
      volume: volumeKey(),
    });
    viaAgent.push(performance.now() - start);
    await client.remove(sessionId);
    start = performance.now();
    await api("/session/spawn", "POST");
    for (;;) {
      guard();
      const s = (await (await api("/session")).json()) as { state: string };
      if (s.state === "running") break;
      if (s.state === "failed") throw new Error("spawn failed");
      await Bun.sleep(20);
    }
    viaApi.push(performance.now() - start);
    if (i < RUNS - 1) await api("/session/kill", "POST");
  }

  const [container] = await serverAgent.list();
  const inspect = JSON.parse(
    Bun.spawnSync(["docker", "inspect", container?.dockerId ?? ""]).stdout.toString(),
  )[0];
  const port = Number(inspect.NetworkSettings.Ports["8080/tcp"][0].HostPort);
  const token = await agent.manager.gatewayToken(container?.sessionId ?? "");
  const straight = await measureWs(() =>
    wrap(
      new WebSocket(`ws://127.0.0.1:${port}/gateway`, {
        headers: { authorization: `Bearer ${token}` },
      } as never),
    ),
  );
  const nginx = await startNginx(port);
  const viaNginx = nginx
    ? await measureWs(() =>
        wrap(
          new WebSocket(`ws://127.0.0.1:${nginx.port}/gateway`, {
            headers: { authorization: `Bearer ${token}` },
          } as never),
        ),
      )
    : null;
  nginx?.stop();
  const proxied = await measureWs(() =>
    wrap(
      new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/gateway`, {
        headers: { authorization: `Bearer ${signup.access_token}` },
      } as never),
    ),
  );
  await api("/session/kill", "POST");

  const ms = (v: number) => `${v.toFixed(0)} ms`;
  const spawnTable = table(
    ["spawn → ready", "p50", "p95", "runs"],
    [
      [
        "raw `docker run` + the same /healthz wait (baseline)",
        ms(percentile(raw, 50)),
        ms(percentile(raw, 95)),
        RUNS,
      ],
      [
        "agent POST /v1/containers (network, volume, hardened create, start, wait)",
        ms(percentile(viaAgent, 50)),
        ms(percentile(viaAgent, 95)),
        RUNS,
      ],
      [
        "API POST /api/v1/session/spawn, polled until running",
        ms(percentile(viaApi, 50)),
        ms(percentile(viaApi, 95)),
        RUNS,
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
        "through server → agent (TLS, signed, pinned) → container",
        `${proxied.p50.toFixed(3)} ms`,
        `${proxied.p95.toFixed(3)} ms`,
        `${proxied.perSecond.toFixed(0)} msg/s`,
      ],
    ],
  );
  console.log(spawnTable);
  console.log(wsTable);
  const path = writeSection(
    "Spawn and WebSocket proxy",
    `Command: \`bun bench/spawn_and_proxy.ts ${RUNS}\` (root, Docker, the PostgreSQL of scripts/services.sh). Measured
${new Date().toISOString().slice(0, 10)}, ${process.arch}, 2 cores, one node, image \`${IMAGE}\`. Spawn runs alternate between
the three methods; the API figure includes the client's 20 ms polling. WebSocket figures: ${RTT_MESSAGES} sequential
ping/pong round trips, then ${THROUGHPUT_MESSAGES} pipelined pings, on the same connection.

${spawnTable}

${wsTable}`,
  );
  console.log(`written to ${path}`);
} finally {
  await server.close();
  await agent.stop();
  await direct.stop();
  await cleanupNode(agent.nodeId);
  await cleanupNode(direct.nodeId);
}
