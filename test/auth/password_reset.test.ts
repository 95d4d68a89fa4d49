// Password reset through a real SMTP server on loopback, on both database drivers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { asSystem } from "../../src/db/rls.ts";
import { accountTokens } from "../../src/db/schema.ts";
import { apiClient, databaseContains, NEW_PASSWORD, PASSWORD } from "../helpers/accounts.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { startTestSmtp, type TestSmtp, tokenFromMail } from "../helpers/smtp.ts";

const RESET = "Reset your clawfleet password";

for (const driver of DRIVERS) {
  describe(`password reset [${driver}]`, () => {
    let server: TestServer;
    let smtp: TestSmtp;
    const api = apiClient(() => server);

    beforeAll(async () => {
      smtp = await startTestSmtp();
      server = await startTestServer(driver, {
        env: { CLAWFLEET_SMTP_URL: smtp.url, CLAWFLEET_MAIL_FROM: "clawfleet <no-reply@example.test>" },
      });
    });
    afterAll(async () => {
      await server.close();
      await smtp.close();
    });

    test("a known address gets a mail with a single-use link; the reset signs out every device", async () => {
      const account = await api.signup();
      const asked = await api.call("POST", "/auth/password-reset", { email: account.email.toUpperCase() });
      expect(asked.status).toBe(202);
      const mail = await smtp.nextMailTo(account.email, RESET);
      expect(mail.from).toBe("no-reply@example.test");
      expect(mail.subject).toContain("Reset your clawfleet password");
      const { link, token } = tokenFromMail(mail, "/reset-password");
      expect(link.startsWith(`${server.url}/reset-password?token=`)).toBe(true);

      // A weak password is refused and leaves the token usable.
      const weak = await api.call("POST", "/auth/password-reset/confirm", { token, new_password: "short" });
      expect(weak.status).toBe(400);
      const confirmed = await api.call("POST", "/auth/password-reset/confirm", {
        token,
        new_password: NEW_PASSWORD,
      });
      expect(confirmed.status).toBe(204);

      expect((await api.call("GET", "/auth/me", undefined, account.access)).status).toBe(401);
      expect((await api.call("POST", "/auth/refresh", { refresh_token: account.refresh })).status).toBe(401);
      expect((await api.login(account.email, PASSWORD)).status).toBe(401);
      expect((await api.login(account.email, NEW_PASSWORD)).status).toBe(200);

      const again = await api.call("POST", "/auth/password-reset/confirm", { token, new_password: PASSWORD });
      expect(again.status).toBe(400);
      expect((await json(again)).error.code).toBe("invalid_token");
      // Stored hashed only.
      expect(await databaseContains(server, token)).toEqual([]);
      expect(server.logs.join("\n")).not.toContain(token);
    });

    test("an unknown address gets the same 202 and no mail", async () => {
      const known = await api.signup();
      const unknown = api.email();
      const a = await api.call("POST", "/auth/password-reset", { email: unknown });
      const b = await api.call("POST", "/auth/password-reset", { email: known.email });
      expect(a.status).toBe(202);
      expect(b.status).toBe(202);
      expect(await a.json()).toEqual(await b.json());
      await smtp.nextMailTo(known.email, RESET);
      expect(smtp.mails.some((m) => m.to.includes(unknown))).toBe(false);
      expect(smtp.mails.some((m) => m.to.includes(known.email) && m.subject === RESET)).toBe(true);
    });

    test("the answer does not wait for the mail (timing reveals nothing)", async () => {
      const account = await api.signup();
      smtp.delayMs = 1500;
      try {
        const started = performance.now();
        const response = await api.call("POST", "/auth/password-reset", { email: account.email });
        const elapsed = performance.now() - started;
        expect(response.status).toBe(202);
        expect(elapsed).toBeLessThan(1000);
        await smtp.nextMailTo(account.email, RESET);
      } finally {
        smtp.delayMs = 0;
      }
    });

    test("an expired or made-up token is refused and changes nothing", async () => {
      const account = await api.signup();
      await api.call("POST", "/auth/password-reset", { email: account.email });
      const { token } = tokenFromMail(await smtp.nextMailTo(account.email, RESET), "/reset-password");
      await asSystem(server.ctx.database.db, (tx) =>
        tx
          .update(accountTokens)
          .set({ expiresAt: new Date(Date.now() - 1000) })
          .where(eq(accountTokens.userId, account.userId)),
      );
      for (const t of [token, "A".repeat(43), "not a token", ""]) {
        const response = await api.call("POST", "/auth/password-reset/confirm", {
          token: t,
          new_password: NEW_PASSWORD,
        });
        expect(response.status).toBe(400);
      }
      expect((await api.login(account.email, PASSWORD)).status).toBe(200);
      const bad = await api.call("POST", "/auth/password-reset/confirm", { token: 12 });
      expect(bad.status).toBe(400);
    });

    test("requests are throttled like sign-ins, with Retry-After", async () => {
      const email = api.email();
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 8; i++) {
        const response = await api.call("POST", "/auth/password-reset", { email });
        statuses.push(response.status);
        if (response.status === 429) retryAfter = response.headers.get("retry-after");
      }
      expect(statuses.slice(0, 5)).toEqual([202, 202, 202, 202, 202]);
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    });

    test("guessing tokens is throttled per address", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const response = await api.call("POST", "/auth/password-reset/confirm", {
          token: crypto.randomUUID().replaceAll("-", "").padEnd(43, "x"),
          new_password: NEW_PASSWORD,
        });
        statuses.push(response.status);
      }
      expect(statuses.filter((s) => s !== 400 && s !== 429)).toEqual([]);
      expect(statuses).toContain(429);
    });
  });
}
