// `bun bench/server_load.ts`: in one run, side by side
//   1. authenticated GET /api/v1/session at 64 connections, on PostgreSQL and on PGlite, beside
//      GET /healthz (no database, no auth) on the same server as the baseline;
//   2. /healthz p50/p99 alone, and while a login flood (argon2 work) runs;
//   3. cold start of the compiled binary to /healthz: empty data dir, existing data dir, beside
//      starting `bun --version` as the floor;
//   4. server and agent memory (RSS) at idle and with N running containers (default 50).
// Ends with machine-readable lines (`RATIO name=value`, `MEMORY name=value`), each computed from
// figures of this run.
// Bounded: 5 s per load phase, 256 connections at most, N ≤ 50 containers, 5 cold starts, and a
// 3.5-minute deadline for the whole run (`bun bench/server_load.ts 5` stays well inside 4 minutes).
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { AgentClient } from "../agent/api/client.ts";
import { parseKeyring } from "../common/keyring.ts";
import type { DbDriver } from "../src/db/client.ts";
import { cleanupNode, ensureRuntimeImage, TEST_CLUSTER_SECRET, volumeKey } from "../test/helpers/fleet.ts";
import { freePort, tempDir, waitForHttp } from "../test/helpers/process.ts";
import { startTestServer } from "../test/helpers/server.ts";
import { table, writeSection } from "./lib/report.ts";

const root = join(import.meta.dir, "..");
const CONTAINERS = Math.min(50, Number(process.argv[2] ?? 50));
const DEADLINE = Date.now() + 210_000;
type Load = {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
};

function guard() {
  if (Date.now() > DEADLINE) throw new Error("benchmark exceeded its 3.5-minute bound");
}

function loadgen(
  url: string,
  connections: number,
  seconds: number,
  method = "GET",
  headers: Record<string, string> = {},
  body?: string,
) {
  const args = [
    process.execPath,
    join(import.meta.dir, "lib/loadgen.ts"),
    url,
    String(connections),
    String(seconds),
    method,
    JSON.stringify(headers),
  ];
  if (body !== undefined) args.push(body);
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "inherit" });
  return new Response(proc.stdout)
    .text()
    .then((text) => JSON.parse(text.trim().split("\n").pop() ?? "{}") as Load);
}

function rssMb(pid: number): number {
  const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function apiLoad(driver: DbDriver) {
  const server = await startTestServer(driver, {
    env: { CLAWFLEET_LOG_LEVEL: "error", CLAWFLEET_TRUSTED_PROXIES: "127.0.0.1" },
  });
  try {
    const signup = (await (
      await fetch(`${server.url}/api/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "load@example.test", password: "correct horse battery staple" }),
      })
    ).json()) as { access_token: string; user: { id: string } };
    // A plan without an API rate limit, so the figure is the server's and not the limiter's.
    await server.ctx.database.db.execute(
      sql`insert into plans values ('bench', 'Bench', 500, 512, 256, 1024, 100000000, 60)`,
    );
    await server.ctx.database.db.execute(
      sql`update users set plan_id = 'bench' where id = ${signup.user.id}`,
    );
    guard();
    const healthz = await loadgen(`${server.url}/healthz`, 64, 5);
    const session = await loadgen(`${server.url}/api/v1/session`, 64, 5, "GET", {
      authorization: `Bearer ${signup.access_token}`,
    });
    let flood: { alone: Load; during: Load } | null = null;
    if (driver === "postgres") {
      const alone = await loadgen(`${server.url}/healthz`, 4, 5);
      const floodRun = loadgen(
        `${server.url}/api/v1/auth/login`,
        64,
        6,
        "POST",
        { "content-type": "application/json", "x-forwarded-for": "198.51.100.{i}" },
        '{"email":"flood{i}@example.test","password":"wrong password {i}"}',
      );
      await Bun.sleep(500);
      const during = await loadgen(`${server.url}/healthz`, 4, 5);
      await floodRun;
      flood = { alone, during };
    }
    return { healthz, session, flood };
  } finally {
    await server.close();
  }
}

async function coldStart() {
  const buildDir = tempDir("cf-cold");
  Bun.spawnSync(
    [process.execPath, "build", "--compile", "src/main.ts", "--outfile", join(buildDir, "clawfleet")],
    { cwd: root },
  );
  const times = { empty: [] as number[], existing: [] as number[], floor: [] as number[] };
  for (let i = 0; i < 5; i++) {
    guard();
    const dir = tempDir("cf-cold-run");
    for (const kind of ["empty", "existing"] as const) {
      const port = await freePort();
      const start = performance.now();
      const proc = Bun.spawn([join(buildDir, "clawfleet"), "serve"], {
        cwd: dir,
        env: {
          PATH: "/usr/bin:/bin",
          PORT: String(port),
          CLAWFLEET_ALL_IN_ONE: "off",
          CLAWFLEET_LOG_LEVEL: "error",
        },
        stdout: "ignore",
      });
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000);
      times[kind].push(performance.now() - start);
      proc.kill();
      await proc.exited;
    }
    const start = performance.now();
    Bun.spawnSync([process.execPath, "--version"]);
    times.floor.push(performance.now() - start);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return { empty: median(times.empty), existing: median(times.existing), floor: median(times.floor) };
}

async function memory() {
  await ensureRuntimeImage();
  const agentPort = await freePort();
  const agentDir = tempDir("cf-mem-agent");
  const env = {
    PATH: "/usr/bin:/bin:/usr/sbin:/sbin",
    CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
    CLAWFLEET_AGENT_LISTEN: `127.0.0.1:${agentPort}`,
    CLAWFLEET_AGENT_DATA_DIR: agentDir,
    CLAWFLEET_NODE_ID: `mem-${crypto.randomUUID().slice(0, 6)}`,
    CLAWFLEET_LOG_LEVEL: "error",
    CLAWFLEET_AGENT_CAPACITY: "cpu=100000,memory=100000,containers=100",
  };
  const fingerprint = Bun.spawnSync([process.execPath, "agent/main.ts", "cert"], { cwd: root, env })
    .stdout.toString()
    .trim();
  const agentProc = Bun.spawn([process.execPath, "agent/main.ts", "run"], {
    cwd: root,
    env,
    stdout: "ignore",
  });
  const serverPort = await freePort();
  const serverProc = Bun.spawn([process.execPath, "src/main.ts", "serve"], {
    cwd: root,
    env: {
      PATH: env.PATH,
      PORT: String(serverPort),
      CLAWFLEET_DATA_DIR: tempDir("cf-mem-server"),
      CLAWFLEET_ALL_IN_ONE: "off",
      CLAWFLEET_LOG_LEVEL: "error",
    },
    stdout: "ignore",
  });
  try {
    await waitForHttp(`http://127.0.0.1:${serverPort}/healthz`, 60_000);
    const client = new AgentClient({
      url: `https://127.0.0.1:${agentPort}`,
      fingerprint,
      keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
    });
    for (let i = 0; i < 100; i++) {
      if (
        await client.health().then(
          () => true,
          () => false,
        )
      )
        break;
      await Bun.sleep(100);
    }
    await Bun.sleep(2000);
    const idle = { server: rssMb(serverProc.pid), agent: rssMb(agentProc.pid) };
    const limits = { cpuMillis: 100, memoryMb: 64, pidsLimit: 32, diskMb: 64 };
    for (let i = 0; i < CONTAINERS; i++) {
      guard();
      await client.spawn({
        sessionId: crypto.randomUUID(),
        template: "clawfleet-runtime",
        limits,
        volume: volumeKey(),
      });
    }
    await client.list();
    await Bun.sleep(2000);
    const loaded = { server: rssMb(serverProc.pid), agent: rssMb(agentProc.pid) };
    return { idle, loaded };
  } finally {
    serverProc.kill();
    agentProc.kill();
    await Promise.all([serverProc.exited, agentProc.exited]);
    await cleanupNode(env.CLAWFLEET_NODE_ID);
  }
}

const pg = await apiLoad("postgres");
const lite = await apiLoad("pglite");
const cold = await coldStart();
const mem = await memory();
const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const loadTable = table(
  ["64 connections, 5 s", "requests/s", "p50", "p99", "statuses"],
  [
    [
      "GET /healthz, PostgreSQL server (baseline: no auth, no DB)",
      f0(pg.healthz.perSecond),
      `${f2(pg.healthz.p50)} ms`,
      `${f2(pg.healthz.p99)} ms`,
      JSON.stringify(pg.healthz.statuses),
    ],
    [
      "authenticated GET /api/v1/session, PostgreSQL",
      f0(pg.session.perSecond),
      `${f2(pg.session.p50)} ms`,
      `${f2(pg.session.p99)} ms`,
      JSON.stringify(pg.session.statuses),
    ],
    [
      "GET /healthz, PGlite server (baseline)",
      f0(lite.healthz.perSecond),
      `${f2(lite.healthz.p50)} ms`,
      `${f2(lite.healthz.p99)} ms`,
      JSON.stringify(lite.healthz.statuses),
    ],
    [
      "authenticated GET /api/v1/session, PGlite",
      f0(lite.session.perSecond),
      `${f2(lite.session.p50)} ms`,
      `${f2(lite.session.p99)} ms`,
      JSON.stringify(lite.session.statuses),
    ],
  ],
);
const floodTable = table(
  ["/healthz, 4 connections", "p50", "p99", "requests/s"],
  [
    [
      "alone (baseline)",
      `${f2(pg.flood?.alone.p50 ?? 0)} ms`,
      `${f2(pg.flood?.alone.p99 ?? 0)} ms`,
      f0(pg.flood?.alone.perSecond ?? 0),
    ],
    [
      "during a 64-connection login flood (distinct emails and addresses)",
      `${f2(pg.flood?.during.p50 ?? 0)} ms`,
      `${f2(pg.flood?.during.p99 ?? 0)} ms`,
      f0(pg.flood?.during.perSecond ?? 0),
    ],
  ],
);
const coldTable = table(
  ["cold start to /healthz (median of 5)", "time"],
  [
    ["`bun --version` (floor: starting a Bun binary)", `${f0(cold.floor)} ms`],
    [
      "dist/clawfleet serve, empty data dir (PGlite initdb, migrations, key generation)",
      `${f0(cold.empty)} ms`,
    ],
    ["dist/clawfleet serve, existing data dir", `${f0(cold.existing)} ms`],
  ],
);
const memTable = table(
  ["resident memory (VmRSS)", "idle", `${CONTAINERS} running containers`],
  [
    [
      "server (`clawfleet serve`, PGlite)",
      `${f1(mem.idle.server)} MiB`,
      `${f1(mem.loaded.server)} MiB (the server is not involved in agent-only spawns)`,
    ],
    ["agent (`clawfleet-agent run`)", `${f1(mem.idle.agent)} MiB`, `${f1(mem.loaded.agent)} MiB`],
  ],
);
console.log([loadTable, floodTable, coldTable, memTable].join("\n\n"));
const path = writeSection(
  "Server load, login flood, cold start, memory",
  `Command: \`bun bench/server_load.ts ${CONTAINERS}\` (root, Docker, the PostgreSQL of scripts/services.sh). Measured
${new Date().toISOString().slice(0, 10)}, ${process.arch}, 2 cores shared by the server, the database and the load generator
(a separate Bun process, bench/lib/loadgen.ts). The load user's plan has no API rate limit.

${loadTable}

${floodTable}

${coldTable}

${memTable}`,
);
console.log(`written to ${path}`);
// Machine-readable, one figure a line, all from this run; these end the output.
console.log(
  [
    `RATIO api_auth_vs_healthz_pg=${(pg.session.perSecond / pg.healthz.perSecond).toFixed(4)}`,
    `RATIO api_auth_vs_healthz_pglite=${(lite.session.perSecond / lite.healthz.perSecond).toFixed(4)}`,
    `MEMORY server_idle_pglite_mib=${mem.idle.server.toFixed(1)}`,
  ].join("\n"),
);
