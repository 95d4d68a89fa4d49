// Verified addresses through a real SMTP server, on both drivers: the signup mail, resend (the newer
// link replaces the older), single use, and the operator's setting that requires it before a spawn.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { asSystem } from "../../src/db/rls.ts";
import { users } from "../../src/db/schema.ts";
import { apiClient, databaseContains } from "../helpers/accounts.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { startTestSmtp, type TestSmtp, tokenFromMail } from "../helpers/smtp.ts";

const CONFIRM = "Confirm your email address";

for (const driver of DRIVERS) {
  describe(`email verification [${driver}]`, () => {
    let server: TestServer;
    let smtp: TestSmtp;
    const api = apiClient(() => server);

    beforeAll(async () => {
      smtp = await startTestSmtp();
      server = await startTestServer(driver, {
        env: { CLAWFLEET_SMTP_URL: smtp.url, CLAWFLEET_REQUIRE_VERIFIED_EMAIL: "true" },
      });
    });
    afterAll(async () => {
      await server.close();
      await smtp.close();
    });

    const verifiedAt = async (userId: string) => {
      const [row] = await asSystem(server.ctx.database.db, (tx) =>
        tx.select({ at: users.emailVerifiedAt }).from(users).where(eq(users.id, userId)),
      );
      return row?.at ?? null;
    };

    test("signup mails a link; until it is used, spawning is refused", async () => {
      const account = await api.signup();
      const { link, token } = tokenFromMail(await smtp.nextMailTo(account.email, CONFIRM), "/verify-email");
      expect(link.startsWith(`${server.url}/verify-email?token=`)).toBe(true);
      expect(await databaseContains(server, token)).toEqual([]);

      const refused = await api.call("POST", "/session/spawn", {}, account.access);
      expect(refused.status).toBe(403);
      expect((await json(refused)).error.code).toBe("email_unverified");
      expect(await verifiedAt(account.userId)).toBeNull();

      expect((await api.call("POST", "/auth/verify-email/confirm", { token })).status).toBe(204);
      expect(await verifiedAt(account.userId)).toBeInstanceOf(Date);
      expect((await api.call("POST", "/auth/verify-email/confirm", { token })).status).toBe(400);
      const spawn = await api.call("POST", "/session/spawn", {}, account.access);
      expect(spawn.status).not.toBe(403);
    });

    test("resend replaces the earlier link; an address already verified cannot ask again", async () => {
      const account = await api.signup();
      const first = tokenFromMail(await smtp.nextMailTo(account.email, CONFIRM), "/verify-email").token;
      expect((await api.call("POST", "/auth/verify-email/resend", {}, account.access)).status).toBe(202);
      const second = tokenFromMail(await smtp.nextMailTo(account.email, CONFIRM), "/verify-email").token;
      expect(second).not.toBe(first);
      expect((await api.call("POST", "/auth/verify-email/confirm", { token: first })).status).toBe(400);
      expect(await verifiedAt(account.userId)).toBeNull();
      expect((await api.call("POST", "/auth/verify-email/confirm", { token: second })).status).toBe(204);
      const again = await api.call("POST", "/auth/verify-email/resend", {}, account.access);
      expect(again.status).toBe(409);
      expect((await api.call("POST", "/auth/verify-email/resend", {})).status).toBe(401);
    });

    test("a password reset by mail also verifies the address", async () => {
      const account = await api.signup();
      await smtp.nextMailTo(account.email, CONFIRM);
      await api.call("POST", "/auth/password-reset", { email: account.email });
      const { token } = tokenFromMail(await smtp.nextMailTo(account.email, "Reset"), "/reset-password");
      const done = await api.call("POST", "/auth/password-reset/confirm", {
        token,
        new_password: "a brand new passphrase 77",
      });
      expect(done.status).toBe(204);
      expect(await verifiedAt(account.userId)).toBeInstanceOf(Date);
    });
  });
}

describe("without SMTP", () => {
  let server: TestServer;
  const api = apiClient(() => server);
  beforeAll(async () => {
    server = await startTestServer("pglite", { env: { CLAWFLEET_REQUIRE_VERIFIED_EMAIL: "true" } });
  });
  afterAll(() => server.close());

  test("nothing can be verified, so nothing is required; resend says mail is off", async () => {
    const account = await api.signup();
    expect((await api.call("POST", "/session/spawn", {}, account.access)).status).not.toBe(403);
    const resend = await api.call("POST", "/auth/verify-email/resend", {}, account.access);
    expect(resend.status).toBe(409);
    expect((await json(resend)).error.code).toBe("mail_disabled");
    // A reset request still answers 202 (and sends nothing): the answer never depends on the setup.
    expect((await api.call("POST", "/auth/password-reset", { email: account.email })).status).toBe(202);
  });
});
