// The account pages of issue 17 in a real browser (Debian's chromium) against a real server on PGlite
// and a real SMTP server on loopback: forgotten password, address confirmation, two-factor sign-in,
// personal access tokens, "download my data", and plan changes by an administrator. No CSP violation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { generateHOTP } from "@oslojs/otp";
import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { asSystem } from "../../src/db/rls.ts";
import { users } from "../../src/db/schema.ts";
import { NEW_PASSWORD, PASSWORD } from "../helpers/accounts.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startTestSmtp, type TestSmtp, tokenFromMail } from "../helpers/smtp.ts";
import { launchBrowser, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

let server: TestServer;
let smtp: TestSmtp;
let browser: Browser;
let main: WatchedPage;
let page: Page;
const EMAIL = `console-${crypto.randomUUID().slice(0, 8)}@example.test`;

async function signUp(p: Page, email: string) {
  await p.goto(`${server.url}/signup`);
  await p.fill("#signup-email", email);
  await p.fill("#signup-password", PASSWORD);
  await Promise.all([p.waitForURL(`${server.url}/dashboard`), p.click("#signup-form button[type=submit]")]);
}

async function signOut(p: Page) {
  await Promise.all([p.waitForURL(`${server.url}/login`), p.click(".signout button")]);
}

beforeAll(async () => {
  smtp = await startTestSmtp();
  server = await startTestServer("pglite", { env: { CLAWFLEET_SMTP_URL: smtp.url } });
  browser = await launchBrowser();
  main = await watchedPage(browser, { acceptDownloads: true });
  page = main.page;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await smtp?.close();
});

describe("account pages in chromium", () => {
  test("sign up, then confirm the address from the mailed link", async () => {
    await signUp(page, EMAIL);
    const { link } = tokenFromMail(await smtp.nextMailTo(EMAIL, "Confirm"), "/verify-email");
    await page.goto(`${server.url}/account/security`);
    expect(await page.locator("#email-status").textContent()).toContain("not confirmed yet");
    await page.goto(link);
    await page.click("#verify-form button[type=submit]");
    await page.getByText("your address is confirmed").waitFor();
    await page.goto(`${server.url}/account/security`);
    expect(await page.locator("#email-status").textContent()).toContain("was confirmed");
  });

  test("personal access tokens: shown once, usable by a script, revoked", async () => {
    await page.goto(`${server.url}/account`);
    await Promise.all([page.waitForURL(`${server.url}/account/security`), page.click("#security-link")]);
    await page.fill("#token-name", "nightly <backup>");
    await page.selectOption("#token-expiry", "90");
    await page.click("#token-form button[type=submit]");
    const value = (await page.locator("#new-token-value").textContent()) ?? "";
    expect(value).toMatch(/^cfp_[A-Za-z0-9_-]{43}$/);
    expect(await page.locator("#tokens-table tbody tr").count()).toBe(1);
    expect(await page.locator("#tokens-table tbody td").first().textContent()).toBe("nightly <backup>");
    await screenshot(page, "account-tokens");
    const api = await fetch(`${server.url}/api/v1/session`, {
      headers: { authorization: `Bearer ${value}` },
    });
    expect(api.status).toBe(200);
    await page.goto(`${server.url}/account/security`);
    expect(await page.content()).not.toContain(value);
    await page.click("#tokens-table tbody button");
    await page.getByText("The token was revoked.").waitFor();
    expect(await page.locator("#tokens-table tbody tr").count()).toBe(0);
    const after = await fetch(`${server.url}/api/v1/session`, {
      headers: { authorization: `Bearer ${value}` },
    });
    expect(after.status).toBe(401);
  });

  test("two-factor: QR code and secret, a wrong code refused, recovery codes, then sign-in asks", async () => {
    await page.goto(`${server.url}/account/security`);
    await page.click("#totp-setup-form button[type=submit]");
    await page.locator("#totp-qr svg").waitFor();
    const secret = (await page.locator("#totp-secret").textContent()) ?? "";
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await screenshot(page, "account-totp-setup");
    await page.fill("#totp-code", "000000");
    await page.click("#totp-enable-form button[type=submit]");
    await page.locator("#totp-section").getByText("That code is not valid").waitFor();
    // The same QR code and secret stay on screen for another try.
    await page.locator("#totp-qr svg").waitFor();
    const fresh = (await page.locator("#totp-secret").textContent()) ?? "";
    expect(fresh).toBe(secret);
    const step = Math.floor(Date.now() / 30_000);
    const key = decodeBase32IgnorePadding(fresh);
    await page.fill("#totp-code", generateHOTP(key, BigInt(step), 6));
    await page.click("#totp-enable-form button[type=submit]");
    await page.getByText("Two-factor sign-in is on.").waitFor();
    expect(await page.locator("#recovery-codes li").count()).toBe(10);
    await screenshot(page, "account-totp-recovery");

    await signOut(page);
    await page.fill("#login-email", EMAIL);
    await page.fill("#login-password", PASSWORD);
    await page.click("#login-form button[type=submit]");
    await page
      .locator("#login-form [data-error-slot]")
      .getByText("Enter the code from your authenticator app.")
      .waitFor();
    await page.fill("#login-password", PASSWORD);
    await page.fill("#login-totp", generateHOTP(key, BigInt(step + 1), 6));
    await Promise.all([
      page.waitForURL(`${server.url}/dashboard`),
      page.click("#login-form button[type=submit]"),
    ]);
  });

  test("download my data: a JSON file with the account and no secret", async () => {
    await page.goto(`${server.url}/account/security`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-link")]);
    const path = await download.path();
    const data = JSON.parse(readFileSync(path, "utf8"));
    expect(data.account.email).toBe(EMAIL);
    expect(data.account.two_factor_enabled_at).toBeString();
    expect(data.personal_access_tokens).toEqual([]);
    expect(JSON.stringify(data)).not.toContain("argon2");
  });

  test("forgot password: ask, follow the mailed link, choose a new password, sign in", async () => {
    const other = await watchedPage(browser);
    const p = other.page;
    await p.goto(`${server.url}/login`);
    await Promise.all([p.waitForURL(`${server.url}/forgot-password`), p.click("text=Forgot your password?")]);
    await p.fill("#forgot-email", EMAIL);
    await p.click("#forgot-form button[type=submit]");
    await p.getByText("If an account uses this address, a reset link is on its way.").waitFor();
    await screenshot(p, "forgot-password");
    const { link } = tokenFromMail(await smtp.nextMailTo(EMAIL, "Reset"), "/reset-password");
    await p.goto(link);
    await p.fill("#reset-password", "short");
    await p.locator("#reset-form").evaluate((f) => {
      (f as HTMLFormElement).noValidate = true;
    });
    await p.click("#reset-form button[type=submit]");
    await p.locator("#reset-form [data-error-slot]").getByText("at least 12 characters").waitFor();
    await p.fill("#reset-password", NEW_PASSWORD);
    await Promise.all([
      p.waitForURL(`${server.url}/login?reset=1`),
      p.click("#reset-form button[type=submit]"),
    ]);
    await p.getByText("Your password has been changed.").waitFor();
    // Every device was signed out: the main page is sent to sign in.
    await page.goto(`${server.url}/dashboard`);
    expect(page.url()).toStartWith(`${server.url}/login`);
    // The used link now says so.
    await p.goto(link);
    await p.fill("#reset-password", NEW_PASSWORD);
    await p.click("#reset-form button[type=submit]");
    await p.locator("#reset-form [data-error-slot]").getByText("invalid, used or expired").waitFor();
    expect(other.incidents.csp).toEqual([]);
    await other.context.close();
  });

  test("an administrator changes a user's plan in the console", async () => {
    const adminEmail = `admin-${crypto.randomUUID().slice(0, 8)}@example.test`;
    const admin = await watchedPage(browser);
    await signUp(admin.page, adminEmail);
    await asSystem(server.ctx.database.db, (tx) =>
      tx.update(users).set({ isAdmin: true }).where(eq(users.email, adminEmail)),
    );
    await admin.page.goto(`${server.url}/admin`);
    await Promise.all([
      admin.page.waitForURL(`${server.url}/admin/users`),
      admin.page.click("#admin-users-link"),
    ]);
    const [target] = await asSystem(server.ctx.database.db, (tx) =>
      tx.select().from(users).where(eq(users.email, EMAIL)),
    );
    const row = admin.page.locator(`#users-table tr[data-user-id="${target?.id}"]`);
    await row.locator("select").selectOption("ultra");
    await row.locator("button").click();
    await admin.page.getByText("Plan changed to ultra.").waitFor();
    await screenshot(admin.page, "admin-users");
    const [after] = await asSystem(server.ctx.database.db, (tx) =>
      tx.select().from(users).where(eq(users.email, EMAIL)),
    );
    expect(after?.planId).toBe("ultra");
    expect(
      await admin.page.locator(`#users-table tr[data-user-id="${target?.id}"] select`).inputValue(),
    ).toBe("ultra");
    expect(admin.incidents.csp).toEqual([]);
    await admin.context.close();
  });

  test("no CSP violation, page error or dialog anywhere", () => {
    expect(main.incidents.csp).toEqual([]);
    expect(main.incidents.pageErrors).toEqual([]);
    expect(main.incidents.dialogs).toEqual([]);
    expect(main.incidents.consoleErrors.filter((m) => !/status of 4\d\d/.test(m))).toEqual([]);
  });
});
