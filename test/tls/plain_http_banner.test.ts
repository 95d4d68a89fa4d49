// The console tells admins, on every page, that the server serves plain HTTP where others can reach
// it; users see nothing, and a loopback-only server shows nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { launchBrowser } from "../console/browser.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

const PASSWORD = "correct horse battery staple";

async function signUp(server: TestServer, email: string, admin: boolean) {
  const body = await json(
    await fetch(`${server.url}/api/v1/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD }),
    }),
  );
  if (admin)
    await server.ctx.database.db.execute(sql`update users set is_admin = true where id = ${body.user.id}`);
}

async function bannerSeenBy(browser: Browser, server: TestServer, email: string): Promise<boolean> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/login`);
    await page.fill("#login-email", email);
    await page.fill("#login-password", PASSWORD);
    await Promise.all([
      page.waitForURL((url) => !url.pathname.startsWith("/login")),
      page.click("#login-form button[type=submit]"),
    ]);
    expect(await page.locator("header .who").textContent()).toContain(email);
    return (await page.locator("#plain-http-warning").count()) === 1;
  } finally {
    await context.close();
  }
}

describe("plain HTTP banner for admins", () => {
  let browser: Browser;
  let open: TestServer;
  let local: TestServer;

  beforeAll(async () => {
    browser = await launchBrowser();
    open = await startTestServer("pglite", { env: { HOST: "0.0.0.0" } });
    local = await startTestServer("pglite");
    for (const server of [open, local]) {
      await signUp(server, "admin@example.test", true);
      await signUp(server, "user@example.test", false);
    }
  });

  afterAll(async () => {
    await browser?.close();
    await open?.close();
    await local?.close();
  });

  test("an admin sees it when the server listens on 0.0.0.0 over plain HTTP", async () => {
    expect(await bannerSeenBy(browser, open, "admin@example.test")).toBe(true);
  });

  test("a user does not", async () => {
    expect(await bannerSeenBy(browser, open, "user@example.test")).toBe(false);
  });

  test("nobody does when the server listens on loopback only", async () => {
    expect(await bannerSeenBy(browser, local, "admin@example.test")).toBe(false);
  });
});
