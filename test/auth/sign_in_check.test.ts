// The one-statement sign-in check (clawfleet_sign_in_state, migrations/0009_perf.sql) keeps revocation
// immediate on every replica: a sign-in revoked on one replica is refused by another on the very next
// request, with no wait, whichever way it ended (sign-out, the sign-ins list, hand-written SQL,
// account deletion), including on a replica that had just served it. PostgreSQL with two replicas
// sharing the database; PGlite with its one process. Also: another user's sign-in id never passes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { isFamilyActive } from "../../src/auth/refresh_tokens.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

const PASSWORD = "correct horse battery staple";
type SignIn = { access: string; id: string; userId: string };

async function signUp(base: string, email: string): Promise<SignIn> {
  const response = await fetch(`${base}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(response.status).toBe(201);
  const body = await json(response);
  const payload = JSON.parse(
    Buffer.from(String(body.access_token).split(".")[1] ?? "", "base64url").toString(),
  );
  return { access: body.access_token, id: payload.sid, userId: body.user.id };
}

async function login(base: string, email: string): Promise<SignIn> {
  const response = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(response.status).toBe(200);
  const body = await json(response);
  const payload = JSON.parse(
    Buffer.from(String(body.access_token).split(".")[1] ?? "", "base64url").toString(),
  );
  return { access: body.access_token, id: payload.sid, userId: body.user.id };
}

function session(base: string, token: string) {
  return fetch(`${base}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } });
}

for (const driver of DRIVERS) {
  describe(`a revoked sign-in is refused at once on every replica [${driver}]`, () => {
    let a: TestServer;
    let b: TestServer;

    beforeAll(async () => {
      a = await startTestServer(driver);
      // PGlite belongs to one process: there the "other replica" is the same server.
      b = driver === "postgres" ? await startTestServer(driver, { databaseUrl: a.databaseUrl ?? "" }) : a;
    });
    afterAll(async () => {
      if (b !== a) await b.close();
      await a.close();
    });

    /** B has just served the sign-in (what a cache would remember). */
    async function warmOnB(signIn: SignIn) {
      expect((await session(b.url, signIn.access)).status).toBe(200);
      expect((await session(b.url, signIn.access)).status).toBe(200);
    }

    test("sign-out on A", async () => {
      const user = await signUp(a.url, `out-${driver}@example.test`);
      await warmOnB(user);
      const out = await fetch(`${a.url}/api/v1/auth/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${user.access}` },
      });
      expect(out.status).toBe(204);
      expect((await session(b.url, user.access)).status).toBe(401);
    });

    test("revoked from A's sign-ins list", async () => {
      const email = `list-${driver}@example.test`;
      const first = await signUp(a.url, email);
      const second = await login(a.url, email);
      await warmOnB(second);
      const revoke = await fetch(`${a.url}/api/v1/auth/sessions/${second.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${first.access}` },
      });
      expect(revoke.status).toBe(204);
      expect((await session(b.url, second.access)).status).toBe(401);
      expect((await session(b.url, first.access)).status).toBe(200);
    });

    test("revoked by hand-written SQL (no code path to forget)", async () => {
      const user = await signUp(a.url, `sql-${driver}@example.test`);
      await warmOnB(user);
      await a.ctx.database.db.execute(sql`update auth_sessions set revoked_at = now() where id = ${user.id}`);
      expect((await session(b.url, user.access)).status).toBe(401);
    });

    test("the account deleted on A", async () => {
      const user = await signUp(a.url, `gone-${driver}@example.test`);
      await warmOnB(user);
      const gone = await fetch(`${a.url}/api/v1/account`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${user.access}`, "content-type": "application/json" },
        body: JSON.stringify({ password: PASSWORD }),
      });
      expect(gone.status).toBe(204);
      expect((await session(b.url, user.access)).status).toBe(401);
    });

    test("a sign-in id only counts for its own user; the idle timeout still applies", async () => {
      const one = await signUp(a.url, `one-${driver}@example.test`);
      const two = await signUp(a.url, `two-${driver}@example.test`);
      const db = b.ctx.database.db;
      const policy = b.ctx.auth.policy;
      expect(await isFamilyActive(db, one.userId, one.id, policy)).toBe(true);
      expect(await isFamilyActive(db, two.userId, one.id, policy)).toBe(false);
      expect(await isFamilyActive(db, one.userId, "not-a-uuid", policy)).toBe(false);
      await a.ctx.database.db.execute(
        sql`update auth_sessions set last_used_at = now() - interval '30 days' where id = ${one.id}`,
      );
      expect(await isFamilyActive(db, one.userId, one.id, policy)).toBe(false);
      expect((await session(b.url, one.access)).status).toBe(401);
    });
  });
}
