// Issue 21's admin page and API reference in a real browser: node drain/activate from the keyboard,
// table words never split (1280 and 390 px), the audit log as sentences with filters and pages (also
// without JavaScript), and /api/docs (Scalar from the binary) without a CSP violation or a request
// anywhere else.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { auditLog, nodes, users } from "../../src/db/schema.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { launchBrowser, SCREENSHOTS, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

const EMAIL = "admin@example.test";
const PASSWORD = "lantern quarry whistle 58";
const NEW_PASSWORD = "harbour violet tandem 17";

let server: TestServer;
let browser: Browser;
let main: WatchedPage;
let page: Page;

async function signUp(p: Page, email: string, password: string) {
  await p.goto(`${server.url}/signup`);
  await p.fill("#signup-email", email);
  await p.fill("#signup-password", password);
  await Promise.all([p.waitForURL(`${server.url}/dashboard`), p.click("#signup-form button[type=submit]")]);
}

/** Words (of table text outside machine-text cells) that the browser split across two lines. */
function wordsBrokenInTables(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const broken: string[] = [];
    const cells = document.querySelectorAll("main table th, main table td:not(.mono):not(.breakable)");
    for (const cell of cells) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        // Ids, addresses and URLs (.mono, .breakable) may break anywhere.
        if (node.parentElement?.closest(".mono, .breakable")) continue;
        const text = node.textContent ?? "";
        for (const match of text.matchAll(/\S+/g)) {
          const range = document.createRange();
          range.setStart(node, match.index);
          range.setEnd(node, match.index + match[0].length);
          const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          if (tops.size > 1) broken.push(match[0]);
        }
      }
    }
    return broken;
  });
}

beforeAll(async () => {
  server = await startTestServer("pglite");
  browser = await launchBrowser();
  main = await watchedPage(browser);
  page = main.page;
  // The first account (the administrator) adds a key and changes its password: events to read.
  await signUp(page, EMAIL, PASSWORD);
  await page.goto(`${server.url}/keys`);
  await page.selectOption("#key-provider", "anthropic");
  await page.fill("#key-value", "sk-ant-admin-test-key-0123456789wxyz");
  await page.click("#add-key-form button[type=submit]");
  await page.getByText("Saved your Anthropic (Claude) key").waitFor();
  await page.goto(`${server.url}/account`);
  await page.fill("#current-password", PASSWORD);
  await page.fill("#new-password", NEW_PASSWORD);
  await page.click("#password-form button[type=submit]");
  await page.getByText("Password changed.").waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("admin console and API reference (issue 21)", () => {
  test("admin: nodes drain and activate from the keyboard, table words never split", async () => {
    const db = server.ctx.database.db;
    const node = await addNode(db, {
      name: "node-a",
      url: "https://127.0.0.1:9",
      fingerprint: "cd".repeat(32),
    });
    await db
      .update(nodes)
      .set({ capacity: { cpuMillis: 4000, memoryMb: 8192, containers: 10 } })
      .where(eq(nodes.id, node.id));
    await page.goto(`${server.url}/admin`);
    const drain = page.locator(`#node-drain-${node.id}`);
    expect(await drain.evaluate((el) => el.tagName)).toBe("BUTTON");
    await drain.focus();
    await page.keyboard.press("Enter");
    await page.getByText("Node node-a is draining").waitFor();
    const [row] = await db.select().from(nodes).where(eq(nodes.id, node.id));
    expect(row?.state).toBe("draining");
    expect(await page.locator("#nodes-table .state").textContent()).toBe("draining");
    await page.locator(`#node-activate-${node.id}`).click();
    await page.getByText("Node node-a is active").waitFor();
    const [again] = await db.select().from(nodes).where(eq(nodes.id, node.id));
    expect(again?.state).toBe("active");
    // A forged node id changes nothing and says so.
    const forged = await page.evaluate(async () => {
      const csrf = JSON.parse(document.body.getAttribute("hx-headers:inherited") ?? "{}")["X-CSRF-Token"];
      const response = await fetch("/admin/nodes/not-a-node/drain", {
        method: "POST",
        headers: { "x-csrf-token": csrf, "hx-request": "true" },
      });
      return response.status;
    });
    expect(forged).toBe(404);

    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 860 });
      await page.goto(`${server.url}/admin`);
      expect({ width, broken: await wordsBrokenInTables(page) }).toEqual({ width, broken: [] });
    }
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${server.url}/admin`);
    await screenshot(page, "admin");
  });

  test("admin: the audit log reads as sentences, filters by person, action and day, and pages", async () => {
    const db = server.ctx.database.db;
    const audit = page.locator("#audit-table");
    await page.goto(`${server.url}/admin`);
    const text = await audit.textContent();
    expect(text).toContain(`${EMAIL} changed their password`);
    expect(text).toContain(`${EMAIL} added an Anthropic key`);
    expect(text).toContain(`${EMAIL} drained a node (no new containers go there)`);
    expect(text).toContain(`${EMAIL} created the first account (an administrator)`);
    // No raw user ids.
    const [me] = await db.select().from(users).where(eq(users.email, EMAIL));
    expect(text).not.toContain(me?.id ?? "missing");

    // Another person's events, and 120 old ones to page through.
    const bea = await watchedPage(browser);
    await signUp(bea.page, "bea@example.test", "meadow copper signal 33");
    await bea.context.close();
    await db.insert(auditLog).values(
      Array.from({ length: 120 }, (_, i) => ({
        action: "auth.login",
        userId: me?.id ?? null,
        ip: "127.0.0.1",
        createdAt: new Date(Date.UTC(2026, 0, 1 + (i % 28), 12)),
      })),
    );

    await page.goto(`${server.url}/admin`);
    await page.fill("#audit-user", "bea@");
    await page.locator("#audit-user").press("Enter");
    await page.locator("#audit-clear").waitFor();
    expect(await audit.textContent()).toContain("bea@example.test signed up");
    expect(await audit.textContent()).not.toContain(EMAIL);

    await page.locator("#audit-clear").click();
    await page.locator("#audit-clear").waitFor({ state: "detached" });
    await page.selectOption("#audit-action", "auth.password_changed");
    await page.click("#audit-filter button[type=submit]");
    await page.locator("#audit-clear").waitFor();
    expect(await audit.locator("tbody tr").count()).toBe(1);

    // Days: January 2026 holds exactly the 120 inserted sign-ins; 50 to a page, newest first.
    await page.selectOption("#audit-action", "");
    await page.fill("#audit-from", "2026-01-01");
    await page.fill("#audit-to", "2026-01-31");
    await page.click("#audit-filter button[type=submit]");
    await page.locator("#audit-older").waitFor();
    expect(await audit.locator("tbody tr").count()).toBe(50);
    const firstPage = await audit.locator("tbody tr").first().getAttribute("data-audit-id");
    await page.click("#audit-older");
    await page.locator("#audit-newest").waitFor();
    expect(await audit.locator("tbody tr").first().getAttribute("data-audit-id")).not.toBe(firstPage);
    await page.click("#audit-older");
    await page.locator("#audit-older").waitFor({ state: "detached" });
    expect(await audit.locator("tbody tr").count()).toBe(20);
    expect(await audit.textContent()).toContain(`${EMAIL} signed in`);
    await page.click("#audit-newest");
    await page.locator("#audit-newest").waitFor({ state: "detached" });
    expect(await audit.locator("tbody tr").first().getAttribute("data-audit-id")).toBe(firstPage);

    // Without JavaScript the same filter is a link.
    const plain = await watchedPage(browser, { javaScriptEnabled: false });
    await plain.page.goto(`${server.url}/login`);
    await plain.page.fill("#login-email", EMAIL);
    await plain.page.fill("#login-password", NEW_PASSWORD);
    await plain.page.click("#login-form button[type=submit]");
    await plain.page.waitForURL(`${server.url}/dashboard`);
    await plain.page.goto(`${server.url}/admin?action=auth.password_changed&from=bad-day`);
    expect(await plain.page.locator("#audit-table tbody tr").count()).toBe(1);
    await plain.context.close();
    await screenshot(page, "admin-audit");
  });

  test("the API reference: Scalar from the binary, linked from the console, no CSP violation", async () => {
    await page.goto(`${server.url}/dashboard`);
    const docs = await watchedPage(browser);
    const elsewhere: string[] = [];
    docs.page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith(server.url) && !url.startsWith("data:") && !url.startsWith("blob:"))
        elsewhere.push(url);
    });
    const href = await page.locator('.site-footer a[href="/api/docs"]').getAttribute("href");
    const response = await docs.page.goto(`${server.url}${href}`);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).toContain("connect-src 'self'");
    // Scalar drew the operations with their schemas from /api/v1/openapi.json.
    await docs.page
      .getByText("Sign in (totp_code too when two-factor is on)")
      .first()
      .waitFor({ timeout: 30_000 });
    await docs.page.getByText("Rotate the refresh token").first().waitFor();
    // One viewer, ours: the schemas of the answers are shown, and none of Scalar's hosted extras.
    const text = (await docs.page.locator("body").textContent()) ?? "";
    expect(text).toContain('"refresh_token"');
    expect(text).not.toContain("Ask AI");
    expect(text).not.toContain("fonts.scalar.com");
    expect(text.split("Rotate the refresh token").length - 1).toBeLessThanOrEqual(2);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await docs.page.screenshot({ path: join(SCREENSHOTS, "api-docs.png") });
    expect(docs.incidents.csp).toEqual([]);
    expect(docs.incidents.pageErrors).toEqual([]);
    expect(elsewhere).toEqual([]);
    await docs.context.close();
  });

  test("no page broke the CSP, threw, or opened a dialog", () => {
    expect(main.incidents.csp).toEqual([]);
    expect(main.incidents.pageErrors).toEqual([]);
    expect(main.incidents.dialogs).toEqual([]);
    expect(main.incidents.consoleErrors.filter((m) => !/status of 4\d\d/.test(m))).toEqual([]);
  });
});
