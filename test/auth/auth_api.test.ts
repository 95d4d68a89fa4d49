import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { signIns, users } from "../../src/db/schema.ts";
import { DRIVERS } from "../helpers/db.ts";
import { CookieClient, json, startTestServer, type TestServer } from "../helpers/server.ts";

const PASSWORD = "correct horse battery staple";

for (const driver of DRIVERS) {
  describe(`auth API [${driver}]`, () => {
    let server: TestServer;
    let n = 0;
    const email = () => `user${++n}-${crypto.randomUUID().slice(0, 6)}@example.test`;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/api/v1${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const signup = async (address = email()): Promise<Record<string, any>> => {
      const response = await post("/auth/signup", { email: address, password: PASSWORD });
      expect(response.status).toBe(201);
      return { email: address, ...(await json(response)) };
    };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    beforeAll(async () => {
      server = await startTestServer(driver, { env: { CLAWFLEET_SESSION_IDLE_TIMEOUT: "7d" } });
    });
    afterAll(() => server.close());

    test("signup returns the user and a token pair; emails are normalised", async () => {
      const address = `  MiXeD.${crypto.randomUUID().slice(0, 6)}@Example.TEST `;
      const body = await signup(address);
      expect(body.user.email).toBe(address.trim().toLowerCase());
      expect(body.expires_in).toBe(900);
      expect(body.access_token.split(".")).toHaveLength(3);
      expect(body.refresh_token.length).toBeGreaterThan(43);
      const me = await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(body.access_token) });
      expect((await json(me)).user.id).toBe(body.user.id);
    });

    test("duplicate signup is a clear 409, whatever the case of the email", async () => {
      const first = await signup();
      const again = await post("/auth/signup", { email: first.email.toUpperCase(), password: PASSWORD });
      expect(again.status).toBe(409);
      expect((await json(again)).error.code).toBe("email_taken");
    });

    test("weak, short or malformed input is a 400 and creates nothing", async () => {
      const address = email();
      for (const body of [
        { email: address, password: "short" },
        { email: address, password: "123456qwerty" },
        { email: "not-an-email", password: PASSWORD },
        { email: address },
        { email: address, password: 12 },
      ]) {
        const response = await post("/auth/signup", body);
        expect(response.status).toBe(400);
        expect((await json(response)).error.code).toBeString();
      }
      const found = await asSystem(server.ctx.database.db, (tx) =>
        tx.select().from(users).where(eq(users.email, address)),
      );
      expect(found).toEqual([]);
    });

    test("login: unknown email and wrong password get the same status and body", async () => {
      const known = await signup();
      const wrong = await post("/auth/login", { email: known.email, password: "wrong password here" });
      const unknown = await post("/auth/login", { email: email(), password: "wrong password here" });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      // Identical apart from the per-request id.
      const body = async (r: Response) => {
        const parsed = await r.json();
        delete parsed.error.request_id;
        return parsed;
      };
      expect(await body(wrong)).toEqual(await body(unknown));
      const ok = await post("/auth/login", { email: known.email, password: PASSWORD });
      expect(ok.status).toBe(200);
    });

    test("login rehashes a password stored under weaker argon2 parameters", async () => {
      const user = await signup();
      const weak = await Bun.password.hash(PASSWORD, {
        algorithm: "argon2id",
        memoryCost: 8192,
        timeCost: 1,
      });
      await asSystem(server.ctx.database.db, (tx) =>
        tx.update(users).set({ passwordHash: weak }).where(eq(users.id, user.user.id)),
      );
      expect((await post("/auth/login", { email: user.email, password: PASSWORD })).status).toBe(200);
      const [row] = await asSystem(server.ctx.database.db, (tx) =>
        tx.select().from(users).where(eq(users.id, user.user.id)),
      );
      expect(row?.passwordHash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    });

    test("refresh rotates; replaying an old token revokes the whole family", async () => {
      const user = await signup();
      const first = await post("/auth/refresh", { refresh_token: user.refresh_token });
      expect(first.status).toBe(200);
      const rotated = await json(first);
      expect(rotated.refresh_token).not.toBe(user.refresh_token);
      const second = await json(await post("/auth/refresh", { refresh_token: rotated.refresh_token }));
      // user.refresh_token is two generations old now: reuse.
      const replay = await post("/auth/refresh", { refresh_token: user.refresh_token });
      expect(replay.status).toBe(401);
      const afterReuse = await post("/auth/refresh", { refresh_token: second.refresh_token });
      expect(afterReuse.status).toBe(401);
      const me = await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(second.access_token) });
      expect(me.status).toBe(401);
      const [family] = await asSystem(server.ctx.database.db, (tx) =>
        tx.select().from(signIns).where(eq(signIns.userId, user.user.id)),
      );
      expect(family?.revokedReason).toBe("refresh token reused");
    });

    test("two tabs refreshing at the same moment both stay signed in", async () => {
      const user = await signup();
      const [a, b] = await Promise.all([
        post("/auth/refresh", { refresh_token: user.refresh_token }),
        post("/auth/refresh", { refresh_token: user.refresh_token }),
      ]);
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      const [ja, jb] = [await json(a), await json(b)];
      expect(ja.refresh_token).toBe(jb.refresh_token);
      expect((await post("/auth/refresh", { refresh_token: ja.refresh_token })).status).toBe(200);
    });

    test("a forged or malformed refresh token is a 401 and revokes nothing", async () => {
      const user = await signup();
      const [id] = user.refresh_token.split(".");
      for (const token of [`${id}.0.${"A".repeat(43)}`, `${id}.5.${"A".repeat(43)}`, "garbage", ""]) {
        expect((await post("/auth/refresh", { refresh_token: token })).status).toBe(401);
      }
      expect((await post("/auth/refresh", { refresh_token: user.refresh_token })).status).toBe(200);
    });

    test("the console's cookies refresh automatically on an expired access cookie", async () => {
      const address = email();
      const browser = new CookieClient(server.url);
      const created = await browser.fetch("/api/v1/auth/signup", {
        method: "POST",
        json: { email: address, password: PASSWORD },
      });
      expect(created.status).toBe(201);
      expect(browser.jar.has("cf_access")).toBe(true);
      expect(browser.jar.has("cf_refresh")).toBe(true);
      const setCookies = created.headers.getSetCookie().join("\n");
      expect(setCookies).toMatch(/cf_access=[^;]+;.*HttpOnly/i);
      expect(setCookies).toMatch(/cf_refresh=[^;]+;.*SameSite=Strict/i);
      const oldRefresh = browser.jar.get("cf_refresh");
      // The browser dropped the access cookie when its Max-Age ran out:
      browser.jar.delete("cf_access");
      const me = await browser.fetch("/api/v1/auth/me");
      expect(me.status).toBe(200);
      expect((await json(me)).user.email).toBe(address);
      expect(browser.jar.has("cf_access")).toBe(true);
      expect(browser.jar.get("cf_refresh")).not.toBe(oldRefresh);
      // And the new access cookie works on its own.
      expect((await browser.fetch("/api/v1/auth/me")).status).toBe(200);
    });

    test("sessions: list, revoke another, logout revokes the current one", async () => {
      const user = await signup();
      const other = await json(await post("/auth/login", { email: user.email, password: PASSWORD }));
      const list = await json(
        await fetch(`${server.url}/api/v1/auth/sessions`, { headers: bearer(user.access_token) }),
      );
      expect(list.sessions).toHaveLength(2);
      const otherSession = list.sessions.find((s: { current: boolean }) => !s.current);
      const revoke = await fetch(`${server.url}/api/v1/auth/sessions/${otherSession.id}`, {
        method: "DELETE",
        headers: bearer(user.access_token),
      });
      expect(revoke.status).toBe(204);
      expect(
        (await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(other.access_token) })).status,
      ).toBe(401);
      expect((await post("/auth/refresh", { refresh_token: other.refresh_token })).status).toBe(401);
      const notMine = await fetch(`${server.url}/api/v1/auth/sessions/${crypto.randomUUID()}`, {
        method: "DELETE",
        headers: bearer(user.access_token),
      });
      expect(notMine.status).toBe(404);
      expect((await post("/auth/logout", {}, bearer(user.access_token))).status).toBe(204);
      expect(
        (await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(user.access_token) })).status,
      ).toBe(401);
    });

    test("another user's session cannot be revoked by id", async () => {
      const alice = await signup();
      const bob = await signup();
      const bobSessions = await json(
        await fetch(`${server.url}/api/v1/auth/sessions`, { headers: bearer(bob.access_token) }),
      );
      const response = await fetch(`${server.url}/api/v1/auth/sessions/${bobSessions.sessions[0].id}`, {
        method: "DELETE",
        headers: bearer(alice.access_token),
      });
      expect(response.status).toBe(404);
      expect(
        (await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(bob.access_token) })).status,
      ).toBe(200);
    });

    test("password change needs the current password and revokes all other sessions", async () => {
      const user = await signup();
      const other = await json(await post("/auth/login", { email: user.email, password: PASSWORD }));
      const wrong = await post(
        "/auth/password",
        { current_password: "not it at all", new_password: "a brand new passphrase" },
        bearer(user.access_token),
      );
      expect(wrong.status).toBe(403);
      const weak = await post(
        "/auth/password",
        { current_password: PASSWORD, new_password: "short" },
        bearer(user.access_token),
      );
      expect(weak.status).toBe(400);
      // The same password again is no change; a guessable one is refused by the strength estimate.
      const same = await post(
        "/auth/password",
        { current_password: PASSWORD, new_password: PASSWORD },
        bearer(user.access_token),
      );
      expect(same.status).toBe(400);
      expect((await json(same)).error.code).toBe("password_unchanged");
      const guessable = await post(
        "/auth/password",
        { current_password: PASSWORD, new_password: "password123456" },
        bearer(user.access_token),
      );
      expect((await json(guessable)).error.code).toBe("password_weak");
      // Nothing changed: the other device is still signed in.
      expect(
        (await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(other.access_token) })).status,
      ).toBe(200);
      const ok = await post(
        "/auth/password",
        { current_password: PASSWORD, new_password: "a brand new passphrase" },
        bearer(user.access_token),
      );
      expect(ok.status).toBe(204);
      expect(
        (await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(user.access_token) })).status,
      ).toBe(200);
      expect(
        (await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(other.access_token) })).status,
      ).toBe(401);
      expect((await post("/auth/login", { email: user.email, password: PASSWORD })).status).toBe(401);
      expect(
        (await post("/auth/login", { email: user.email, password: "a brand new passphrase" })).status,
      ).toBe(200);
    });

    test("account deletion needs the password and removes the account", async () => {
      const user = await signup();
      const del = (password: string) =>
        fetch(`${server.url}/api/v1/account`, {
          method: "DELETE",
          headers: { "content-type": "application/json", ...bearer(user.access_token) },
          body: JSON.stringify({ password }),
        });
      expect((await del("wrong password!!")).status).toBe(403);
      expect((await del(PASSWORD)).status).toBe(204);
      const left = await asSystem(server.ctx.database.db, async (tx) => ({
        users: await tx.select().from(users).where(eq(users.id, user.user.id)),
        sessions: await tx.select().from(signIns).where(eq(signIns.userId, user.user.id)),
      }));
      expect(left).toEqual({ users: [], sessions: [] });
      expect((await post("/auth/login", { email: user.email, password: PASSWORD })).status).toBe(401);
    });

    test("CSRF: cookie-authenticated mutations need our Origin and the token", async () => {
      const browser = new CookieClient(server.url);
      const created = await json(
        await browser.fetch("/api/v1/auth/signup", {
          method: "POST",
          json: { email: email(), password: PASSWORD },
        }),
      );
      const csrf = created.csrf_token as string;
      expect(csrf).toBeString();
      // No token:
      const noToken = await browser.fetch("/api/v1/auth/logout", { method: "POST" });
      expect(noToken.status).toBe(403);
      expect((await json(noToken)).error.code).toBe("csrf_failed");
      // A cross-site page posting with the user's cookies:
      const evil = new CookieClient(server.url, "https://evil.example");
      for (const [k, v] of browser.jar) evil.jar.set(k, v);
      const crossSite = await evil.fetch("/api/v1/auth/logout", {
        method: "POST",
        headers: { "x-csrf-token": csrf },
      });
      expect(crossSite.status).toBe(403);
      expect((await json(crossSite)).error.code).toBe("bad_origin");
      // A form post with cookies and no Origin at all:
      const cookieHeader = [...browser.jar].map(([k, v]) => `${k}=${v}`).join("; ");
      const noOrigin = await fetch(`${server.url}/api/v1/auth/logout`, {
        method: "POST",
        headers: { cookie: cookieHeader, "content-type": "application/x-www-form-urlencoded" },
        body: `_csrf=${csrf}`,
      });
      expect(noOrigin.status).toBe(403);
      expect((await browser.fetch("/api/v1/auth/me")).status).toBe(200);
      const ok = await browser.fetch("/api/v1/auth/logout", {
        method: "POST",
        headers: { "x-csrf-token": csrf },
      });
      expect(ok.status).toBe(204);
      expect((await browser.fetch("/api/v1/auth/me")).status).toBe(401);
    });

    test("security headers: CSP without inline script, no framing, no referrer", async () => {
      const response = await fetch(`${server.url}/healthz`);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("strict-transport-security")).toBeNull();
    });

    test("the free plan allows 30 API requests a minute, then 429 with Retry-After", async () => {
      const user = await signup();
      // Start at the beginning of a fresh minute window is not needed: count what this minute allows.
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) {
        const r = await fetch(`${server.url}/api/v1/auth/me`, { headers: bearer(user.access_token) });
        statuses.push(r.status);
        if (r.status === 429) {
          expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
          expect((await json(r)).error.code).toBe("rate_limited");
          break;
        }
      }
      // The window may roll over mid-loop; either way the 429 comes once 30 were used in one window.
      const counted = rowsOf<{ count: number }>(
        await asSystem(server.ctx.database.db, (tx) =>
          tx.execute(
            sql`select max(count) as count from rate_counters where bucket = ${`api:${user.user.id}`}`,
          ),
        ),
      );
      expect(statuses.at(-1) === 429 || Number(counted[0]?.count) <= 30).toBe(true);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(30 - 1);
    });
  });
}
