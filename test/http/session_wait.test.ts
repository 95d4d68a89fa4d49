// GET /api/v1/session?wait=N without an agent: a session held in `spawning` (no job drives it), so the
// wait can only end by its deadline, a change another replica writes to the row, or the caller's
// sign-in ending.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

const PASSWORD = "correct horse battery staple";

for (const driver of DRIVERS) {
  describe(`GET /api/v1/session?wait=N [${driver}]`, () => {
    let server: TestServer;
    let userId = "";
    const email = `wait-${driver}-${crypto.randomUUID().slice(0, 6)}@example.test`;

    const auth = async (action: "signup" | "login") =>
      (await json(
        await fetch(`${server.url}/api/v1/auth/${action}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password: PASSWORD }),
        }),
      )) as { access_token: string; user: { id: string } };
    const call = (token: string, path: string, method = "GET") =>
      fetch(`${server.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    /** Written straight to the database: what another replica's spawn job would do (no notice here). */
    const setState = (state: string) =>
      server.ctx.database.db.execute(
        sql`update agent_sessions set state = ${state}, progress = 'creating', failure_reason = null where user_id = ${userId}`,
      );

    beforeAll(async () => {
      server = await startTestServer(driver);
      const first = await auth("signup");
      userId = first.user.id;
      // No node: the spawn fails at once, which leaves the user a session row to hold in `spawning`.
      await call(first.access_token, "/session/spawn", "POST");
      for (let i = 0; i < 50; i++) {
        if ((await json(await call(first.access_token, "/session"))).state === "failed") break;
        await Bun.sleep(50);
      }
    });

    afterAll(async () => {
      await server?.close();
    });

    test("an unchanged spawn is answered at the deadline, still spawning", async () => {
      await setState("spawning");
      const { access_token } = await auth("login");
      const started = performance.now();
      const r = await call(access_token, "/session?wait=1");
      expect(r.status).toBe(200);
      expect((await json(r)).state).toBe("spawning");
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    });

    test("a change another replica writes is answered within a recheck, not at the deadline", async () => {
      await setState("spawning");
      const { access_token } = await auth("login");
      const started = performance.now();
      const answer = call(access_token, "/session?wait=10");
      await Bun.sleep(300);
      await setState("running");
      const r = await answer;
      expect(r.status).toBe(200);
      expect((await json(r)).state).toBe("running");
      expect(performance.now() - started).toBeLessThan(3_000);
    });

    test("signing out ends a wait under way with a 401", async () => {
      await setState("spawning");
      const { access_token } = await auth("login");
      const started = performance.now();
      const answer = call(access_token, "/session?wait=10");
      await Bun.sleep(300);
      expect((await call(access_token, "/auth/logout", "POST")).status).toBe(204);
      const r = await answer;
      expect(r.status).toBe(401);
      expect(performance.now() - started).toBeLessThan(3_000);
    });
  });
}
