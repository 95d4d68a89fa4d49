// The dashboard's token usage in Chromium: totals, the plan's budget, per-model rows and the 14-day
// chart, from rows the provider gateway's reports produce; and the keys page no longer tells users to
// kill their container for a key change (keys reach running containers live).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { asSystem } from "../../src/db/rls.ts";
import { tokenUsage, users } from "../../src/db/schema.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { launchBrowser, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

const PASSWORD = "correct horse battery staple";
let server: TestServer;
let browser: Browser;
let main: WatchedPage;
let page: Page;

const day = (offset: number) => new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  server = await startTestServer("pglite");
  browser = await launchBrowser();
  main = await watchedPage(browser);
  page = main.page;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("token usage on the dashboard", () => {
  test("a new user sees zero and no limit; keys say changes are live, not kill-then-start", async () => {
    await page.goto(`${server.url}/signup`);
    await page.fill("#signup-email", "tokens@example.test");
    await page.fill("#signup-password", PASSWORD);
    await Promise.all([
      page.waitForURL(`${server.url}/dashboard`),
      page.click("#signup-form button[type=submit]"),
    ]);
    expect(await page.locator("#tokens-today").textContent()).toBe("0 in · 0 out");
    expect(await page.locator("#tokens-budget").textContent()).toBe("no limit on your plan");
    expect(await page.locator("#token-chart g").count()).toBe(14);
    await page.goto(`${server.url}/keys`);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).not.toContain("kill, then start");
    expect(text).toContain("takes effect in your running container within seconds");
  });

  test("reported usage shows as totals, per model, against the budget, and as bars per day", async () => {
    const db = server.ctx.database.db;
    const [user] = await db.select().from(users).where(eq(users.email, "tokens@example.test"));
    const userId = user?.id ?? "";
    await asSystem(db, async (tx) => {
      await tx.insert(tokenUsage).values([
        {
          userId,
          day: day(0),
          provider: "openai",
          model: "gpt-4o-mini",
          inputTokens: 1200,
          outputTokens: 300,
          requests: 4,
        },
        {
          userId,
          day: day(0),
          provider: "anthropic",
          model: "claude-sonnet-4-5",
          inputTokens: 50,
          outputTokens: 25,
          requests: 1,
        },
        {
          userId,
          day: day(3),
          provider: "openai",
          model: "gpt-4o-mini",
          inputTokens: 100,
          outputTokens: 10,
          requests: 1,
        },
      ]);
      await tx.execute(sql`update plans set monthly_token_budget = 100000 where id = 'free'`);
    });
    try {
      await page.goto(`${server.url}/dashboard`);
      expect(await page.locator("#tokens-today").textContent()).toBe("1,250 in · 325 out");
      const monthIn = day(3).slice(0, 7) === day(0).slice(0, 7) ? "1,350 in · 335 out" : "1,250 in · 325 out";
      expect(await page.locator("#tokens-month").textContent()).toBe(monthIn);
      expect(await page.locator("#tokens-budget").textContent()).toContain("of 100,000 used");
      const rows = await page
        .locator("#tokens-by-model tbody tr")
        .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
      expect(rows[0]).toEqual(["anthropic · claude-sonnet-4-5", "50", "25", "1"]);
      expect(rows[1]?.[0]).toBe("openai · gpt-4o-mini");
      expect(await page.locator(`#token-chart g[data-day="${day(0)}"]`).getAttribute("data-total")).toBe(
        "1575",
      );
      expect(await page.locator(`#token-chart g[data-day="${day(3)}"]`).getAttribute("data-total")).toBe(
        "110",
      );
      expect(await page.locator(`#token-chart g[data-day="${day(1)}"]`).getAttribute("data-total")).toBe("0");
      // The tallest bar is today's: drawn to the chart's full height.
      const today = page.locator(`#token-chart g[data-day="${day(0)}"] rect`);
      const heights = await today.evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("height"))));
      expect(heights.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(79);
      await screenshot(page, "dashboard-tokens");
    } finally {
      await asSystem(db, (tx) =>
        tx.execute(sql`update plans set monthly_token_budget = null where id = 'free'`),
      );
    }
  });

  test("no page broke the CSP, threw, or opened a dialog", () => {
    expect(main.incidents.csp).toEqual([]);
    expect(main.incidents.pageErrors).toEqual([]);
    expect(main.incidents.dialogs).toEqual([]);
  });
});
