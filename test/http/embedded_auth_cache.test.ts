// The embedded database's API cache (src/http/embedded_auth_cache.ts): on PGlite an authenticated
// request is answered from memory, and every write that changes what it answers is seen by the very
// next request: sign-out, a revoked sign-in, a password reset, a deleted account, a plan change or a
// plan's edit, the session's state and its node's name. Each case first proves the request was served
// from the cache (the cache's hit counter moves, its database reads do not), then writes, then asks
// again. The same outcomes hold on PostgreSQL, which has no cache and reads the rows every time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { type Database, rowsOf } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { agentSessions, nodes, signIns, users } from "../../src/db/schema.ts";
import { EmbeddedAuthCache } from "../../src/http/embedded_auth_cache.ts";
import { type Account, apiClient, NEW_PASSWORD } from "../helpers/accounts.ts";
import { DRIVERS, freshDatabase, type TestDatabase } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { startTestSmtp, type TestSmtp, tokenFromMail } from "../helpers/smtp.ts";

for (const driver of DRIVERS) {
  describe(`the authenticated API sees every write at once [${driver}]`, () => {
    let server: TestServer;
    let smtp: TestSmtp;
    let admin: Account;
    const api = apiClient(() => server);
    const getSession = (account: Account) => api.call("GET", "/session", undefined, account.access);
    const system = <T>(fn: Parameters<typeof asSystem<T>>[1]) => asSystem(server.ctx.database.db, fn);

    beforeAll(async () => {
      smtp = await startTestSmtp();
      server = await startTestServer(driver, {
        env: { CLAWFLEET_SMTP_URL: smtp.url, CLAWFLEET_MAIL_FROM: "clawfleet <no-reply@example.test>" },
      });
      admin = await api.signup();
      await system((tx) => tx.update(users).set({ isAdmin: true }).where(eq(users.id, admin.userId)));
    });
    afterAll(async () => {
      await server.close();
      await smtp.close();
    });

    test("the cache exists on PGlite only", () => {
      if (driver === "pglite") expect(server.ctx.apiCache).not.toBeNull();
      else expect(server.ctx.apiCache ?? null).toBeNull();
    });

    /** GET /session twice; on PGlite the second is proven an answer from memory. Returns its body. */
    async function servedFromCache(account: Account) {
      expect((await getSession(account)).status).toBe(200);
      const cache = server.ctx.apiCache;
      const before = cache ? { ...cache.stats } : null;
      const response = await getSession(account);
      expect(response.status).toBe(200);
      if (cache && before) {
        expect(cache.stats.hits).toBe(before.hits + 1);
        expect(cache.stats.fills).toBe(before.fills);
      }
      return { body: await json(response), headers: response.headers };
    }

    test("sign-out", async () => {
      const user = await api.signup();
      await servedFromCache(user);
      expect((await api.call("POST", "/auth/logout", undefined, user.access)).status).toBe(204);
      expect((await getSession(user)).status).toBe(401);
    });

    test("a sign-in revoked from another device's list", async () => {
      const first = await api.signup();
      const loggedIn = await api.login(first.email, "correct horse battery staple");
      const body = await json(loggedIn);
      const second: Account = { ...first, access: body.access_token, refresh: body.refresh_token };
      await servedFromCache(second);
      const secondId = JSON.parse(Buffer.from(second.access.split(".")[1] ?? "", "base64url").toString()).sid;
      expect((await api.call("DELETE", `/auth/sessions/${secondId}`, undefined, first.access)).status).toBe(
        204,
      );
      expect((await getSession(second)).status).toBe(401);
      expect((await getSession(first)).status).toBe(200);
    });

    test("a password reset signs every device out", async () => {
      const user = await api.signup();
      await servedFromCache(user);
      expect((await api.call("POST", "/auth/password-reset", { email: user.email })).status).toBe(202);
      const { token } = tokenFromMail(
        await smtp.nextMailTo(user.email, "Reset your clawfleet password"),
        "/reset-password",
      );
      const confirmed = await api.call("POST", "/auth/password-reset/confirm", {
        token,
        new_password: NEW_PASSWORD,
      });
      expect(confirmed.status).toBe(204);
      expect((await getSession(user)).status).toBe(401);
    });

    test("a deleted account", async () => {
      const user = await api.signup();
      await servedFromCache(user);
      const deleted = await api.call(
        "DELETE",
        "/account",
        { password: "correct horse battery staple" },
        user.access,
      );
      expect(deleted.status).toBe(204);
      expect((await getSession(user)).status).toBe(401);
    });

    test("last_used_at moved back past the idle time", async () => {
      const user = await api.signup();
      await servedFromCache(user);
      await server.ctx.database.db.execute(
        sql`update auth_sessions set last_used_at = now() - interval '1 minute' where user_id = ${user.userId}`,
      );
      await servedFromCache(user);
      await server.ctx.database.db.execute(
        sql`update auth_sessions set last_used_at = now() - interval '400 days' where user_id = ${user.userId}`,
      );
      expect((await getSession(user)).status).toBe(401);
    });

    test("a plan change by an administrator and a plan's edited limit apply at once", async () => {
      const user = await api.signup();
      const before = await servedFromCache(user);
      expect(before.headers.get("ratelimit-limit")).toBe("30");
      expect(before.body.plan.id).toBe("free");
      const changed = await api.call(
        "PUT",
        `/admin/users/${user.userId}/plan`,
        { plan: "pro" },
        admin.access,
      );
      expect(changed.status).toBe(200);
      const after = await servedFromCache(user);
      expect(after.headers.get("ratelimit-limit")).toBe("120");
      expect(after.body.plan.id).toBe("pro");
      try {
        await server.ctx.database.db.execute(
          sql`update plans set api_requests_per_minute = 121 where id = 'pro'`,
        );
        const edited = await getSession(user);
        expect(edited.headers.get("ratelimit-limit")).toBe("121");
      } finally {
        await server.ctx.database.db.execute(
          sql`update plans set api_requests_per_minute = 120 where id = 'pro'`,
        );
      }
    });

    test("the session's state and its node's name", async () => {
      const user = await api.signup();
      expect((await servedFromCache(user)).body.state).toBe("none");
      const [node] = await system((tx) =>
        tx
          .insert(nodes)
          .values({ name: `cache-node-${driver}`, url: "https://127.0.0.1:1", fingerprint: "f" })
          .returning({ id: nodes.id }),
      );
      await system((tx) =>
        tx.insert(agentSessions).values({ userId: user.userId, state: "spawning", nodeId: node?.id }),
      );
      const spawning = await servedFromCache(user);
      expect(spawning.body.state).toBe("spawning");
      expect(JSON.stringify(spawning.body)).toContain(`cache-node-${driver}`);
      await system((tx) =>
        tx.update(agentSessions).set({ state: "failed" }).where(eq(agentSessions.userId, user.userId)),
      );
      expect((await servedFromCache(user)).body.state).toBe("failed");
      await system((tx) =>
        tx
          .update(nodes)
          .set({ name: `renamed-${driver}` })
          .where(eq(nodes.id, node?.id ?? "")),
      );
      expect(JSON.stringify((await servedFromCache(user)).body)).toContain(`renamed-${driver}`);
    });

    test("the rate count: one a request, 429 past the plan's limit, in memory on PGlite", async () => {
      const user = await api.signup();
      let remaining = Number.POSITIVE_INFINITY;
      let refused: Response | null = null;
      // Bounded: 30 a minute on the free plan, so at most 62 calls even across a window's end.
      for (let i = 0; i < 62 && !refused; i++) {
        const response = await getSession(user);
        if (response.status === 429) refused = response;
        else {
          const left = Number(response.headers.get("ratelimit-remaining"));
          // Each request takes one, unless a new minute began.
          expect(left === remaining - 1 || left === 29).toBe(true);
          remaining = left;
        }
      }
      expect(refused).not.toBeNull();
      expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(refused?.headers.get("ratelimit-remaining")).toBe("0");
      expect((await json(refused as Response)).error.code).toBe("rate_limited");
      const stored = rowsOf<{ n: number }>(
        await server.ctx.database.db.execute(
          sql`select count(*)::int as n from rate_counters where bucket = ${`api:${user.userId}`}`,
        ),
      );
      // PGlite counts in memory; PostgreSQL in one row a window (one or two windows in this loop).
      if (driver === "pglite") expect(Number(stored[0]?.n)).toBe(0);
      else expect(Number(stored[0]?.n)).toBeGreaterThanOrEqual(1);
    });
  });
}

describe("the cache on its own [pglite]", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase("pglite");
  });
  afterAll(() => database.drop());

  test("the next request reads the database again", async () => {
    const [user] = await asSystem(database.db, (tx) =>
      tx.insert(users).values({ email: "race@example.test", passwordHash: "x" }).returning({ id: users.id }),
    );
    const userId = user?.id ?? "";
    let overtake = true;
    // The real database, with a notification arriving between the snapshot's read and its return, as a
    // write committed by another request in that moment would send.
    const racing: Database = {
      ...database,
      query: async <T>(text: string, params: unknown[]) => {
        const rows = await database.query<T>(text, params);
        if (overtake) cache.invalidate(`user:${userId}`);
        return rows;
      },
    };
    const cache = new EmbeddedAuthCache(racing);
    const now = Date.now();
    expect((await cache.read(userId, null, true, 60_000, now)).limit).toBe(30);
    overtake = false;
    await cache.read(userId, null, true, 60_000, now);
    expect(cache.stats).toMatchObject({ fills: 2, hits: 0 });
    await cache.read(userId, null, true, 60_000, now);
    expect(cache.stats).toMatchObject({ fills: 2, hits: 1 });
  });

  test("a cached sign-in lapses by the clock alone: idle, then past expires_at", async () => {
    const [user] = await asSystem(database.db, (tx) =>
      tx.insert(users).values({ email: "clock@example.test", passwordHash: "x" }).returning({ id: users.id }),
    );
    const now = Date.now();
    const [signIn] = await asSystem(database.db, (tx) =>
      tx
        .insert(signIns)
        .values({
          userId: user?.id ?? "",
          tokenHash: "h-clock",
          salt: "s",
          lastUsedAt: new Date(now),
          expiresAt: new Date(now + 120_000),
        })
        .returning({ id: signIns.id }),
    );
    const cache = new EmbeddedAuthCache(database);
    const read = (at: number, idleMs: number) =>
      cache.read(user?.id ?? "", signIn?.id ?? "", false, idleMs, at);
    expect((await read(now, 60_000)).signedIn).toBe(true);
    expect((await read(now + 59_000, 60_000)).signedIn).toBe(true);
    expect((await read(now + 61_000, 60_000)).signedIn).toBe(false);
    expect((await read(now + 119_000, 600_000)).signedIn).toBe(true);
    expect((await read(now + 121_000, 600_000)).signedIn).toBe(false);
    expect(cache.stats).toMatchObject({ fills: 1, hits: 4 });
    // Another user's sign-in id is never taken from the cache as this user's.
    expect((await cache.read(crypto.randomUUID(), signIn?.id ?? "", false, 60_000, now)).signedIn).toBe(
      false,
    );
  });
});
