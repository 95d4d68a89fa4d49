// TOTP two-factor on both drivers, with codes computed independently by @oslojs/otp from the secret the
// setup shows: enable, sign-in with a code (accepted once), recovery codes (once each), throttling,
// disabling with password and code, the secret sealed in the database.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { generateHOTP } from "@oslojs/otp";
import { apiClient, databaseContains, PASSWORD } from "../helpers/accounts.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

const stepNow = () => Math.floor(Date.now() / 30_000);

/** The code of a time step (now by default). */
function code(secret: string, step = stepNow()): string {
  return generateHOTP(decodeBase32IgnorePadding(secret), BigInt(step), 6);
}

for (const driver of DRIVERS) {
  describe(`two-factor sign-in [${driver}]`, () => {
    let server: TestServer;
    const api = apiClient(() => server);

    beforeAll(async () => {
      server = await startTestServer(driver);
    });
    afterAll(() => server.close());

    async function enabled() {
      const account = await api.signup();
      const setup = await json(await api.call("POST", "/auth/totp/setup", {}, account.access));
      const step = stepNow();
      const enable = await api.call(
        "POST",
        "/auth/totp/enable",
        { code: code(setup.secret, step) },
        account.access,
      );
      expect(enable.status).toBe(200);
      const { recovery_codes } = await json(enable);
      return { account, step, secret: setup.secret as string, recovery: recovery_codes as string[] };
    }

    test("setup shows a secret, an otpauth URI and an SVG QR code; the secret is sealed at rest", async () => {
      const account = await api.signup();
      const response = await api.call("POST", "/auth/totp/setup", {}, account.access);
      expect(response.status).toBe(200);
      const setup = await json(response);
      expect(setup.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(setup.otpauth_uri).toStartWith("otpauth://totp/clawfleet:");
      expect(setup.otpauth_uri).toContain(`secret=${setup.secret}`);
      expect(setup.qr_svg).toStartWith("<svg");
      // Drawn here: no link to any outside service, no script, no embedded image.
      expect(setup.qr_svg.replaceAll("http://www.w3.org/2000/svg", "")).not.toMatch(
        /https?:|<script|<image|href/,
      );
      expect(await databaseContains(server, setup.secret)).toEqual([]);
      expect(server.logs.join("\n")).not.toContain(setup.secret);
      // Not on until a code is proven: sign-in still needs only the password.
      expect((await api.login(account.email, PASSWORD)).status).toBe(200);
      const wrong = await api.call("POST", "/auth/totp/enable", { code: "000000" }, account.access);
      expect(wrong.status).toBe(400);
      expect((await api.login(account.email, PASSWORD)).status).toBe(200);
    });

    test("sign-in then needs a code, and each code is accepted once", async () => {
      const { account, secret, recovery, step } = await enabled();
      expect(recovery).toHaveLength(10);
      expect(new Set(recovery).size).toBe(10);
      const missing = await api.login(account.email, PASSWORD);
      expect(missing.status).toBe(401);
      expect((await json(missing)).error.code).toBe("totp_required");
      // The enabling code's step is spent; the next step's code is within the drift window.
      expect((await api.login(account.email, PASSWORD, code(secret, step))).status).toBe(401);
      const next = code(secret, step + 1);
      const ok = await api.login(account.email, PASSWORD, next);
      expect(ok.status).toBe(200);
      const replay = await api.login(account.email, PASSWORD, next);
      expect(replay.status).toBe(401);
      expect((await json(replay)).error.code).toBe("invalid_totp_code");
      // A wrong password with a right-looking code is still the plain invalid-credentials answer.
      const wrongPassword = await api.login(account.email, "wrong password here", code(secret, step + 2));
      expect((await json(wrongPassword)).error.code).toBe("invalid_credentials");
    });

    test("a recovery code signs in once", async () => {
      const { account, recovery } = await enabled();
      const first = recovery[0] ?? "";
      expect((await api.login(account.email, PASSWORD, first.toUpperCase())).status).toBe(200);
      expect((await api.login(account.email, PASSWORD, first)).status).toBe(401);
      expect((await api.login(account.email, PASSWORD, recovery[1])).status).toBe(200);
      for (const c of recovery) expect(await databaseContains(server, c.replaceAll("-", ""))).toEqual([]);
    });

    test("wrong codes are throttled", async () => {
      const { account } = await enabled();
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const response = await api.login(account.email, PASSWORD, String(100000 + i));
        statuses.push(response.status);
        if (response.status === 429) expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      }
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses).toContain(429);
    });

    test("disabling needs the password and a code", async () => {
      const { account, recovery } = await enabled();
      const noPassword = await api.call(
        "POST",
        "/auth/totp/disable",
        { password: "wrong password here", code: recovery[0] },
        account.access,
      );
      expect(noPassword.status).toBe(403);
      const noCode = await api.call(
        "POST",
        "/auth/totp/disable",
        { password: PASSWORD, code: "123456" },
        account.access,
      );
      expect(noCode.status).toBe(401);
      expect((await api.login(account.email, PASSWORD)).status).toBe(401);
      const off = await api.call(
        "POST",
        "/auth/totp/disable",
        { password: PASSWORD, code: recovery[0] },
        account.access,
      );
      expect(off.status).toBe(204);
      expect((await api.login(account.email, PASSWORD)).status).toBe(200);
      const twice = await api.call(
        "POST",
        "/auth/totp/disable",
        { password: PASSWORD, code: recovery[1] },
        account.access,
      );
      expect(twice.status).toBe(409);
    });

    test("setup while enabled is refused; bad bodies are 400", async () => {
      const { account } = await enabled();
      expect((await api.call("POST", "/auth/totp/setup", {}, account.access)).status).toBe(409);
      expect((await api.call("POST", "/auth/totp/enable", {}, account.access)).status).toBe(400);
      expect((await api.call("POST", "/auth/totp/disable", { code: 5 }, account.access)).status).toBe(400);
    });
  });
}
