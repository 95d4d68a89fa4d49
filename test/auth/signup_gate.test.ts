// Who may create an account, and how fast: duplicates refused before any argon2 work, signups
// throttled per address (IPv6 by /64) and platform-wide, CLAWFLEET_SIGNUP=open|invite|closed with the
// first account as administrator, and invite links minted through the API, the console and the CLI.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { passwordWork } from "../../src/auth/passwords.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { createPgDatabase, DRIVERS } from "../helpers/db.ts";
import { tempDir } from "../helpers/process.ts";
import { CookieClient, json, startTestServer, type TestServer } from "../helpers/server.ts";

const PASSWORD = "correct horse battery staple";
const root = join(import.meta.dir, "../..");

function signup(base: string, body: Record<string, unknown>, ip?: string) {
  return fetch(`${base}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(ip ? { "x-forwarded-for": ip } : {}) },
    body: JSON.stringify({ password: PASSWORD, ...body }),
  });
}

const email = (tag: string) => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.test`;

for (const driver of DRIVERS) {
  describe(`signup gate [${driver}]`, () => {
    const servers: TestServer[] = [];
    async function server(env: Record<string, string> = {}) {
      const started = await startTestServer(driver, {
        env: { CLAWFLEET_TRUSTED_PROXIES: "127.0.0.1", ...env },
      });
      servers.push(started);
      return started;
    }
    const drops: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const s of servers) await s.close();
      for (const drop of drops) await drop();
    });

    test("70 concurrent signups for an existing email: all 409 before hashing, logins keep working", async () => {
      const s = await server();
      const taken = email("taken");
      expect((await signup(s.url, { email: taken }, "198.51.100.1")).status).toBe(201);
      let peak = 0;
      const watcher = setInterval(() => {
        peak = Math.max(peak, passwordWork.load.running + passwordWork.load.waiting);
      }, 2);
      const flood = Array.from({ length: 70 }, (_, i) =>
        signup(s.url, { email: taken, password: `another password ${i}` }, `203.0.113.${i + 1}`),
      );
      const login = await fetch(`${s.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.1" },
        body: JSON.stringify({ email: taken, password: PASSWORD }),
      });
      const statuses = (await Promise.all(flood)).map((r) => r.status);
      clearInterval(watcher);
      expect(new Set(statuses)).toEqual(new Set([409]));
      expect(login.status).toBe(200);
      // Only the one login hashed anything.
      expect(peak).toBeLessThanOrEqual(1);
    });

    test("per address (IPv6 by /64) and platform-wide, with Retry-After", async () => {
      const s = await server({ CLAWFLEET_SIGNUP_LIMIT_PER_ADDRESS: "3", CLAWFLEET_SIGNUP_LIMIT_GLOBAL: "6" });
      const statuses: number[] = [];
      for (let i = 1; i <= 4; i++) {
        statuses.push(
          (await signup(s.url, { email: email("v6") }, `2001:db8:5:6::${i.toString(16)}`)).status,
        );
      }
      expect(statuses).toEqual([201, 201, 201, 429]);
      const refused = await signup(s.url, { email: email("v6") }, "2001:db8:5:6:ffff::1");
      expect(refused.status).toBe(429);
      expect((await json(refused)).error.code).toBe("too_many_signups");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      for (let i = 1; i <= 3; i++) {
        expect((await signup(s.url, { email: email("v4") }, `198.51.100.${i}`)).status).toBe(201);
      }
      // Six accounts this hour: the platform-wide limit holds for a fresh address too.
      const busy = await signup(s.url, { email: email("late") }, "192.0.2.200");
      expect(busy.status).toBe(429);
      expect((await json(busy)).error.code).toBe("signups_busy");
    });

    test("closed: the first account (the administrator) only", async () => {
      const s = await server({ CLAWFLEET_SIGNUP: "closed" });
      const first = await signup(s.url, { email: email("root") });
      expect(first.status).toBe(201);
      expect((await json(first)).user.is_admin).toBe(true);
      const second = await signup(s.url, { email: email("late") });
      expect(second.status).toBe(403);
      expect((await json(second)).error.code).toBe("signup_closed");
    });

    test("invite: the first account is the admin, who mints single-use links through the API", async () => {
      const s = await server({
        CLAWFLEET_SIGNUP: "invite",
        CLAWFLEET_PUBLIC_URL: "https://fleet.example.test",
      });
      const admin = await json(await signup(s.url, { email: email("admin") }));
      expect(admin.user.is_admin).toBe(true);
      const asAdmin = (path: string, init: RequestInit = {}) =>
        fetch(`${s.url}/api/v1${path}`, {
          ...init,
          headers: { "content-type": "application/json", authorization: `Bearer ${admin.access_token}` },
        });
      const uninvited = await signup(s.url, { email: email("nobody") });
      expect(uninvited.status).toBe(403);
      expect((await json(uninvited)).error.code).toBe("invalid_invite");

      const invitee = email("invitee");
      const minted = await asAdmin("/admin/invites", {
        method: "POST",
        body: JSON.stringify({ email: invitee, expires_in_days: 2 }),
      });
      expect(minted.status).toBe(201);
      const invite = await json(minted);
      expect(invite.token).toMatch(/^cfi_/);
      expect(invite.url).toBe(`https://fleet.example.test/signup?invite=${invite.token}`);

      expect((await signup(s.url, { email: email("someone-else"), invite: invite.token })).status).toBe(403);
      expect((await signup(s.url, { email: invitee, invite: "cfi_forged" })).status).toBe(403);
      const joined = await signup(s.url, { email: invitee, invite: invite.token });
      expect(joined.status).toBe(201);
      const user = await json(joined);
      expect(user.user.is_admin).toBe(false);
      expect((await signup(s.url, { email: email("again"), invite: invite.token })).status).toBe(403);

      const open = await json(await asAdmin("/admin/invites", { method: "POST", body: "{}" }));
      expect((await asAdmin(`/admin/invites/${open.id}`, { method: "DELETE" })).status).toBe(204);
      expect((await signup(s.url, { email: email("revoked"), invite: open.token })).status).toBe(403);

      const listed = await json(await asAdmin("/admin/invites"));
      const byId = new Map(listed.invites.map((i: { id: string }) => [i.id, i]));
      expect((byId.get(invite.id) as { used_at: string | null }).used_at).not.toBeNull();
      expect((byId.get(open.id) as { revoked_at: string | null }).revoked_at).not.toBeNull();
      expect(JSON.stringify(listed)).not.toContain(invite.token);

      // A non-admin cannot mint; bad input is a 400 and stores nothing.
      const forbidden = await fetch(`${s.url}/api/v1/admin/invites`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${user.access_token}` },
        body: "{}",
      });
      expect(forbidden.status).toBe(403);
      const before = listed.invites.length;
      for (const body of [{ expires_in_days: 0 }, { expires_in_days: 91 }, { email: "not an email" }]) {
        expect((await asAdmin("/admin/invites", { method: "POST", body: JSON.stringify(body) })).status).toBe(
          400,
        );
      }
      expect((await json(await asAdmin("/admin/invites"))).invites.length).toBe(before);

      // Only the token's hash is stored.
      const dump = rowsOf<Record<string, unknown>>(
        await asSystem(s.ctx.database.db, (tx) => tx.execute(sql`select * from invites`)),
      );
      expect(JSON.stringify(dump)).not.toContain(invite.token.slice(4));
    });

    test("invite: the console mints a link and the signup page carries it", async () => {
      const s = await server({ CLAWFLEET_SIGNUP: "invite" });
      const admin = new CookieClient(s.url);
      const form = (fields: Record<string, string>) => ({
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields).toString(),
      });
      expect(
        (await admin.fetch("/signup", form({ email: email("console-admin"), password: PASSWORD }))).status,
      ).toBeLessThan(400);
      const page = await (await admin.fetch("/admin")).text();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
      expect(page).toContain('id="invites-section"');
      const minted = await (
        await admin.fetch("/admin/invites", form({ _csrf: csrf, email: "", days: "3" }))
      ).text();
      const link = /(http[^<"]*\/signup\?invite=(cfi_[A-Za-z0-9_-]{43}))/.exec(minted);
      expect(link).not.toBeNull();
      const token = link?.[2] ?? "";
      const visitor = new CookieClient(s.url);
      const signupPage = await (await visitor.fetch(`/signup?invite=${token}`)).text();
      expect(signupPage).toContain(`name="invite" value="${token}"`);
      const joined = await visitor.fetch(
        "/signup",
        form({ email: email("console-user"), password: PASSWORD, invite: token }),
      );
      expect(joined.headers.get("location")).toBe("/dashboard");
      const reused = await new CookieClient(s.url).fetch(
        "/signup",
        form({ email: email("console-again"), password: PASSWORD, invite: token }),
      );
      expect(await reused.text()).toContain("This invite link is not valid any more");
    });

    test("invite: the CLI mints, lists and revokes", async () => {
      let target: Record<string, string> = { CLAWFLEET_DATA_DIR: join(tempDir("cf-cli-invites"), "data") };
      if (driver === "postgres") {
        const db = await createPgDatabase();
        drops.push(db.drop);
        target = { DATABASE_URL: db.url, CLAWFLEET_DATA_DIR: tempDir("cf-cli-invites") };
      }
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        CLAWFLEET_LOG_LEVEL: "error",
        CLAWFLEET_PUBLIC_URL: "https://fleet.example.test",
        ...target,
      };
      const cli = (...args: string[]) => {
        const proc = Bun.spawnSync([process.execPath, "src/main.ts", "invites", ...args], { cwd: root, env });
        return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() };
      };
      const created = cli("create", "--email", "cli-invitee@example.test", "--days", "5");
      expect(created.code).toBe(0);
      expect(created.out).toMatch(/https:\/\/fleet\.example\.test\/signup\?invite=cfi_[A-Za-z0-9_-]{43}/);
      const id = /^invite ([0-9a-f-]{36})/.exec(created.out)?.[1] ?? "";
      expect(cli("list").out).toContain(`${id}\tpending\tcli-invitee@example.test`);
      expect(cli("revoke", id).code).toBe(0);
      expect(cli("list").out).toContain(`${id}\trevoked`);
      const bad = cli("create", "--days", "400");
      expect(bad.code).toBe(64);
      expect(bad.err).toContain("1 to 90 days");
    });
  });
}
