// `bun --cpu-prof-md bench/profile_api.ts [postgres|pglite]`: where the authenticated API path spends
// its time. In-process server (so the CPU profile covers it); the load generator is its own process.
//   1. each step of GET /api/v1/session timed alone, 300 times in sequence: the JWT check, the
//      sign-in check, the rate-limit count, and the session read, each on its own, then the one
//      statement that does all three (what the route runs), then the whole request;
//   2. 5 s of 64-connection load on GET /api/v1/session, for the CPU profile written on exit, with the
//      CPU seconds this process, the load generator and the PostgreSQL backends spent in it.
// Bounded: 300 iterations a step, one 5 s load phase.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type SQL, sql } from "drizzle-orm";
import { accessTokenSigner } from "../src/auth/access_tokens.ts";
import { verifyAccessToken } from "../src/auth/cookie_sign_in.ts";
import { type DbDriver, rowsOf } from "../src/db/client.ts";
import { countApiCall, enforceApiRate } from "../src/http/rate_limit.ts";
import { getSessionView } from "../src/sessions/sessions_repo.ts";
import { startTestServer } from "../test/helpers/server.ts";
import { percentile } from "./lib/report.ts";

/** The PostgreSQL backends of this server's database (none on PGlite). */
async function postgresBackends(ctx: {
  database: { driver: string; db: { execute: (q: SQL) => Promise<unknown> } };
}) {
  if (ctx.database.driver !== "postgres") return [];
  // Fill the pool first, so every backend the load will use exists.
  await Promise.all(Array.from({ length: 20 }, () => ctx.database.db.execute(sql`select pg_sleep(0.05)`)));
  const rows = rowsOf<{ pid: number }>(
    await ctx.database.db.execute(sql`select pid from pg_stat_activity where datname = current_database()`),
  );
  return rows.map((r) => Number(r.pid));
}

/** utime + stime of these processes, in seconds (clock ticks of 1/100 s). */
function cpuSeconds(pids: number[]) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return ticks / 100;
}

const driver = (process.argv[2] ?? "postgres") as DbDriver;
const ITERATIONS = 300;
const server = await startTestServer(driver, { env: { CLAWFLEET_LOG_LEVEL: "error" } });
try {
  const signup = (await (
    await fetch(`${server.url}/api/v1/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "profile@example.test", password: "correct horse battery staple" }),
    })
  ).json()) as { access_token: string; user: { id: string } };
  const ctx = server.ctx;
  await ctx.database.db.execute(
    sql`insert into plans values ('bench', 'Bench', 500, 512, 256, 1024, 100000000, 60) on conflict do nothing`,
  );
  await ctx.database.db.execute(sql`update users set plan_id = 'bench' where id = ${signup.user.id}`);
  const tokens = accessTokenSigner(ctx.auth.keys.accessTokenSecret);
  const userId = signup.user.id;
  const signInId = (await tokens.verify(signup.access_token))?.signInId ?? null;
  const steps: Record<string, () => Promise<unknown>> = {
    "JWT verify (HS256)": () => tokens.verify(signup.access_token),
    "sign-in check (JWT + auth_sessions read)": () => verifyAccessToken(ctx, tokens, signup.access_token),
    "rate-limit count (upsert)": () => enforceApiRate(ctx, userId),
    "one statement: sign-in check, count, session read": () =>
      countApiCall(ctx, { userId, signInToCheck: signInId, readSession: true }),
    "session read (users ⋈ plans ⋈ agent_sessions)": () => getSessionView(ctx.database.db, userId),
    "whole request over HTTP": () =>
      fetch(`${server.url}/api/v1/session`, {
        headers: { authorization: `Bearer ${signup.access_token}` },
      }).then((r) => r.arrayBuffer()),
  };
  for (const [name, step] of Object.entries(steps)) {
    for (let i = 0; i < 20; i++) await step();
    const times: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const start = performance.now();
      await step();
      times.push(performance.now() - start);
    }
    console.log(
      `${driver} | ${name} | p50 ${percentile(times, 50).toFixed(3)} ms | p95 ${percentile(times, 95).toFixed(3)} ms`,
    );
  }
  const backends = await postgresBackends(ctx);
  const before = { server: process.cpuUsage(), db: cpuSeconds(backends) };
  const load = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "lib/loadgen.ts"),
      `${server.url}/api/v1/session`,
      "64",
      "5",
      "GET",
      JSON.stringify({ authorization: `Bearer ${signup.access_token}` }),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const loadOut = (await new Response(load.stdout).text()).trim();
  const loadgenCpu = Number(load.resourceUsage()?.cpuTime.total ?? 0) / 1e6;
  const serverCpu = process.cpuUsage(before.server);
  const dbCpu = cpuSeconds(backends) - before.db;
  console.log(`${driver} | 64 connections, 5 s | ${loadOut}`);
  // Where the two cores went during those 5 s: this process (server + drizzle + driver, and PGlite when
  // embedded), the load generator, and the PostgreSQL backends serving this server's pool.
  console.log(
    `${driver} | CPU seconds in the 5 s | server ${((serverCpu.user + serverCpu.system) / 1e6).toFixed(2)} (user ${(serverCpu.user / 1e6).toFixed(2)}, system ${(serverCpu.system / 1e6).toFixed(2)}) | loadgen ${loadgenCpu.toFixed(2)} | postgres backends ${dbCpu.toFixed(2)} (${backends.length})`,
  );
} finally {
  await server.close();
}
