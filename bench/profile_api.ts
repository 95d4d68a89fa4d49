// `bun --cpu-prof-md bench/profile_api.ts [postgres|pglite]`: where the authenticated API path spends
// its time. In-process server (so the CPU profile covers it); the load generator is its own process.
//   1. each step of GET /api/v1/session timed alone, 300 times in sequence: the JWT check, the
//      sign-in check, the rate-limit count, and the session read;
//   2. 5 s of 64-connection load on GET /api/v1/session, for the CPU profile written on exit.
// Bounded: 300 iterations a step, one 5 s load phase.
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { accessTokenSigner } from "../src/auth/access_tokens.ts";
import { verifyAccessToken } from "../src/auth/cookie_sign_in.ts";
import type { DbDriver } from "../src/db/client.ts";
import { enforceApiRate } from "../src/http/rate_limit.ts";
import { getSessionView } from "../src/sessions/sessions_repo.ts";
import { startTestServer } from "../test/helpers/server.ts";
import { percentile } from "./lib/report.ts";

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
  const steps: Record<string, () => Promise<unknown>> = {
    "JWT verify (HS256)": () => tokens.verify(signup.access_token),
    "sign-in check (JWT + auth_sessions read)": () => verifyAccessToken(ctx, tokens, signup.access_token),
    "rate-limit count (upsert)": () => enforceApiRate(ctx, userId),
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
  console.log(`${driver} | 64 connections, 5 s | ${(await new Response(load.stdout).text()).trim()}`);
} finally {
  await server.close();
}
