import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ACCOUNT_FAILURES_PER_HOUR, checkLogin } from "../../src/auth/login_throttle.ts";
import { passwordWork } from "../../src/auth/passwords.ts";
import { asSystem } from "../../src/db/rls.ts";
import { loginAttempts } from "../../src/db/schema.ts";
import { createPgDatabase, DRIVERS, describeEachDriver } from "../helpers/db.ts";
import { freePort, tempDir, waitForHttp } from "../helpers/process.ts";
import { json, startTestServer, TEST_MASTER_KEYS, type TestServer } from "../helpers/server.ts";

const PASSWORD = "correct horse battery staple";
const root = join(import.meta.dir, "../..");

function poster(base: string) {
  return (path: string, body: unknown, ip: string) =>
    fetch(`${base}/api/v1${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify(body),
    });
}

describeEachDriver("login throttle rules", (db) => {
  test("100 failures an hour block the account until the oldest leaves the window", async () => {
    const email = "capped@example.test";
    const base = Date.now() - 50 * 60_000;
    await asSystem(db().db, (tx) =>
      tx.insert(loginAttempts).values(
        Array.from({ length: ACCOUNT_FAILURES_PER_HOUR }, (_, i) => ({
          email,
          ip: `203.0.113.${i % 250}`,
          success: false,
          createdAt: new Date(base + i),
        })),
      ),
    );
    const verdict = await checkLogin(db().db, email, "198.51.100.7");
    expect(verdict.allowed).toBe(false);
    if (!verdict.allowed) {
      expect(verdict.retryAfterSeconds).toBeGreaterThan(9 * 60);
      expect(verdict.retryAfterSeconds).toBeLessThanOrEqual(10 * 60 + 1);
    }
    // An hour later the account is free again: nothing is permanent.
    expect((await checkLogin(db().db, email, "198.51.100.7", Date.now() + 61 * 60_000)).allowed).toBe(true);
  });
});

for (const driver of DRIVERS) {
  describe(`login rate limiting over HTTP [${driver}]`, () => {
    let server: TestServer;
    let post: ReturnType<typeof poster>;
    beforeAll(async () => {
      server = await startTestServer(driver, { env: { CLAWFLEET_TRUSTED_PROXIES: "127.0.0.1" } });
      post = poster(server.url);
    });
    afterAll(() => server.close());

    test("growing delays per account with 429 and Retry-After; the owner's usual IP is not locked out", async () => {
      const email = `victim-${crypto.randomUUID().slice(0, 6)}@example.test`;
      const home = "198.51.100.10";
      expect((await post("/auth/signup", { email, password: PASSWORD }, home)).status).toBe(201);
      expect((await post("/auth/login", { email, password: PASSWORD }, home)).status).toBe(200);
      const attacker = "203.0.113.66";
      const statuses: number[] = [];
      let retryAfter = 0;
      for (let i = 0; i < 8; i++) {
        const response = await post("/auth/login", { email, password: `guess number ${i}` }, attacker);
        statuses.push(response.status);
        if (response.status === 429) retryAfter = Number(response.headers.get("retry-after"));
      }
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5)).toEqual([429, 429, 429]);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      // Even the right password from the attacker's address waits:
      expect((await post("/auth/login", { email, password: PASSWORD }, attacker)).status).toBe(429);
      // The owner, from where they signed in before, is not locked out.
      expect((await post("/auth/login", { email, password: PASSWORD }, home)).status).toBe(200);
    });

    test("HSTS is sent when the request arrived over HTTPS (TLS or a trusted proxy saying so)", async () => {
      const plain = await fetch(`${server.url}/healthz`);
      expect(plain.headers.get("strict-transport-security")).toBeNull();
      const viaProxy = await fetch(`${server.url}/healthz`, { headers: { "x-forwarded-proto": "https" } });
      expect(viaProxy.headers.get("strict-transport-security")).toContain("max-age=");
    });

    test("per-IP: one address spraying many accounts is slowed down", async () => {
      const ip = "203.0.113.99";
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) {
        const response = await post(
          "/auth/login",
          { email: `spray${i}@example.test`, password: "wrong password" },
          ip,
        );
        statuses.push(response.status);
      }
      expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(20)).toEqual([429, 429]);
      // Another address is unaffected.
      expect(
        (await post("/auth/login", { email: "spray0@example.test", password: "x" }, "203.0.113.100")).status,
      ).toBe(401);
    });

    test("60 parallel guesses at one account: only the free five reach the password check", async () => {
      const email = `parallel-${crypto.randomUUID().slice(0, 6)}@example.test`;
      expect((await post("/auth/signup", { email, password: PASSWORD }, "198.51.100.60")).status).toBe(201);
      const guesses = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          post("/auth/login", { email, password: `parallel guess ${i}` }, `203.0.113.${100 + i}`),
        ),
      );
      const statuses = guesses.map((r) => r.status);
      // Each reservation is one attempt: a 401 (checked) or a 503 (argon2 queue full); the rest wait.
      // Sequentially the throttle lets 5 through, then one after 1 s, 2 s, 4 s…: the burst lasts a
      // few seconds, so at most 5 + 3. Without the reservation all 60 passed the one check.
      const checked = statuses.filter((s) => s === 401 || s === 503).length;
      expect(checked).toBeGreaterThanOrEqual(5);
      expect(checked).toBeLessThanOrEqual(8);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(52);
    });

    test("per-IP keys take IPv6 /64s: rotating addresses inside one /64 buys no attempts", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) {
        const response = await post(
          "/auth/login",
          { email: `v6spray${i}@example.test`, password: "wrong password" },
          `2001:db8:77:1:${(i + 1).toString(16)}::${i + 7}`,
        );
        statuses.push(response.status);
      }
      expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(20)).toEqual([429, 429]);
      // The next /64 is another client.
      expect(
        (await post("/auth/login", { email: "v6spray0@example.test", password: "x" }, "2001:db8:77:2::1"))
          .status,
      ).toBe(401);
    });

    test("current-password checks (password change, account deletion) count in the login throttle", async () => {
      const email = `stolen-${crypto.randomUUID().slice(0, 6)}@example.test`;
      const signed = await json(await post("/auth/signup", { email, password: PASSWORD }, "198.51.100.70"));
      const ip = "203.0.113.170";
      const as = (path: string, method: string, body: unknown) =>
        fetch(`${server.url}/api/v1${path}`, {
          method,
          headers: {
            "content-type": "application/json",
            "x-forwarded-for": ip,
            authorization: `Bearer ${signed.access_token}`,
          },
          body: JSON.stringify(body),
        });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push(
          (
            await as("/auth/password", "POST", {
              current_password: `g${i} wrong`,
              new_password: `${PASSWORD}!`,
            })
          ).status,
        );
      }
      statuses.push((await as("/account", "DELETE", { password: "another wrong one" })).status);
      for (let i = 0; i < 2; i++) {
        statuses.push(
          (
            await as("/auth/password", "POST", {
              current_password: `h${i} wrong`,
              new_password: `${PASSWORD}!`,
            })
          ).status,
        );
      }
      statuses.push((await as("/account", "DELETE", { password: PASSWORD })).status);
      expect(statuses).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);
      // The account still exists: the right password, once the wait is due, was never checked.
      expect(
        (
          await fetch(`${server.url}/api/v1/auth/me`, {
            headers: { authorization: `Bearer ${signed.access_token}` },
          })
        ).status,
      ).toBe(200);
    });

    test("unknown email and wrong password take comparable time (same argon2 work)", async () => {
      const email = `timing-${crypto.randomUUID().slice(0, 6)}@example.test`;
      await post("/auth/signup", { email, password: PASSWORD }, "198.51.100.20");
      const time = async (body: unknown, ip: string) => {
        const start = performance.now();
        const response = await post("/auth/login", body, ip);
        expect(response.status).toBe(401);
        return performance.now() - start;
      };
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 4; i++) {
        known.push(await time({ email, password: "wrong password" }, `198.51.100.${30 + i}`));
        unknown.push(
          await time(
            { email: `nobody${i}@example.test`, password: "wrong password" },
            `198.51.100.${40 + i}`,
          ),
        );
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      const ratio = median(known) / median(unknown);
      expect(ratio).toBeGreaterThan(1 / 3);
      expect(ratio).toBeLessThan(3);
    });

    test("a login flood queues argon2 work (at most 2 at once) and /healthz keeps answering", async () => {
      let peak = 0;
      const watcher = setInterval(() => {
        peak = Math.max(peak, passwordWork.load.running);
      }, 2);
      const flood = Array.from({ length: 40 }, (_, i) =>
        post(
          "/auth/login",
          { email: `flood${i}@example.test`, password: "wrong password" },
          `192.0.2.${i + 1}`,
        ),
      );
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      const statuses = (await Promise.all(flood)).map((r) => r.status);
      clearInterval(watcher);
      expect(peak).toBeLessThanOrEqual(2);
      expect(statuses.filter((s) => s !== 401 && s !== 503)).toEqual([]);
    });
  });
}

describe("X-Forwarded-For from an untrusted peer", () => {
  test("is ignored, and named once in a loud warning", async () => {
    const server = await startTestServer("pglite");
    try {
      for (let i = 0; i < 3; i++) {
        await fetch(`${server.url}/api/v1/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${i}` },
          body: JSON.stringify({ email: "xff@example.test", password: "wrong password" }),
        });
      }
      const warnings = server.logs.filter((line) => line.includes("CLAWFLEET_TRUSTED_PROXIES"));
      expect(warnings.length).toBe(1);
      expect(JSON.parse(warnings[0] ?? "{}").level).toBe("warn");
      const recorded = await asSystem(server.ctx.database.db, (tx) => tx.select().from(loginAttempts));
      expect(new Set(recorded.map((r) => r.ip))).toEqual(new Set(["127.0.0.1"]));
    } finally {
      await server.close();
    }
  });
});

describe("rate limits hold across two server processes sharing one PostgreSQL", () => {
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  let drop = async () => {};
  let urls: string[] = [];

  beforeAll(async () => {
    const db = await createPgDatabase();
    drop = db.drop;
    urls = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      procs.push(
        Bun.spawn([process.execPath, "src/main.ts", "serve"], {
          cwd: root,
          env: {
            ...process.env,
            PORT: String(port),
            HOST: "127.0.0.1",
            DATABASE_URL: db.url,
            CLAWFLEET_MASTER_KEYS: TEST_MASTER_KEYS,
            CLAWFLEET_DATA_DIR: tempDir("cf-replica"),
            CLAWFLEET_TRUSTED_PROXIES: "127.0.0.1",
            DOCKER_SOCKET: "/nonexistent.sock",
          },
          stdout: "ignore",
          stderr: "inherit",
        }),
      );
      urls.push(`http://127.0.0.1:${port}`);
    }
    await Promise.all(urls.map((u) => waitForHttp(`${u}/readyz`, 30_000)));
  });

  afterAll(async () => {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
    await drop();
  });

  test("failures on one replica count on the other; a session from one works on the other", async () => {
    const [a = "", b = ""] = urls;
    const email = `shared-${crypto.randomUUID().slice(0, 6)}@example.test`;
    const signed = await json(
      await poster(a)("/auth/signup", { email, password: PASSWORD }, "198.51.100.50"),
    );
    const me = await fetch(`${b}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${signed.access_token}` },
    });
    expect(me.status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const base = i % 2 === 0 ? a : b;
      statuses.push(
        (await poster(base)("/auth/login", { email, password: "wrong guess" }, "203.0.113.5")).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const refreshed = await poster(b)(
      "/auth/refresh",
      { refresh_token: signed.refresh_token },
      "198.51.100.50",
    );
    expect(refreshed.status).toBe(200);
  });
});
