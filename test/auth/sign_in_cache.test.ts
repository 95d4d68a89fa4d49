// The sign-in cache (src/auth/sign_in_cache.ts) never outlives a revocation: a sign-in revoked on one
// replica is refused at once on another that had it cached, whichever way it ended (sign-out, the
// sign-ins list, hand-written SQL through the trigger, account deletion). PostgreSQL with two
// replicas sharing the database; PGlite with its one process.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { SignInCache } from "../../src/auth/sign_in_cache.ts";
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

    /** B answers from its cache: the sign-in is in it after one request. */
    async function warmOnB(signIn: SignIn) {
      expect((await session(b.url, signIn.access)).status).toBe(200);
      expect(b.ctx.auth.signIns.get(signIn.id, signIn.userId)).not.toBeNull();
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

    test("revoked by hand-written SQL (the trigger, not the app, tells the replicas)", async () => {
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

    test("a rotation (refresh) does not empty the cache; a revoked sign-in is never cached", async () => {
      const user = await signUp(a.url, `keep-${driver}@example.test`);
      await warmOnB(user);
      await a.ctx.database.db.execute(
        sql`update auth_sessions set last_used_at = now() where id = ${user.id}`,
      );
      await Bun.sleep(50);
      expect(b.ctx.auth.signIns.get(user.id, user.userId)).not.toBeNull();
      await a.ctx.database.db.execute(sql`update auth_sessions set revoked_at = now() where id = ${user.id}`);
      expect((await session(b.url, user.access)).status).toBe(401);
      expect(b.ctx.auth.signIns.get(user.id, user.userId)).toBeNull();
    });
  });
}

describe("SignInCache", () => {
  const row = { userId: "u1", expiresAt: Date.now() + 60_000, lastUsedAt: Date.now() };

  test("stores nothing before its LISTEN is up, or after it stopped", () => {
    const cache = new SignInCache();
    cache.remember("s1", row, cache.begin());
    expect(cache.get("s1", "u1")).toBeNull();
    cache.listened();
    cache.remember("s1", row, cache.begin());
    expect(cache.get("s1", "u1")).not.toBeNull();
    cache.stopped();
    expect(cache.get("s1", "u1")).toBeNull();
    cache.remember("s1", row, cache.begin());
    expect(cache.get("s1", "u1")).toBeNull();
  });

  test("a read that began before an invalidation is not stored (it may predate the revoke)", () => {
    const cache = new SignInCache();
    cache.listened();
    const epoch = cache.begin();
    cache.forget("s1");
    cache.remember("s1", row, epoch);
    expect(cache.get("s1", "u1")).toBeNull();
  });

  test("re-listening empties it; an entry is another user's for nobody; entries expire", () => {
    const cache = new SignInCache();
    cache.listened();
    cache.remember("s1", row, cache.begin());
    expect(cache.get("s1", "u2")).toBeNull();
    cache.remember("s1", row, cache.begin());
    cache.listened();
    expect(cache.get("s1", "u1")).toBeNull();
    const now = Date.now();
    cache.remember("s1", row, cache.begin(), now);
    expect(cache.get("s1", "u1", now + 4_000)).not.toBeNull();
    expect(cache.get("s1", "u1", now + 6_000)).toBeNull();
  });
});
