// Spawn progress (issue 21, item 5) in a real browser against real parts: a server (two replicas on
// one PostgreSQL), a fleet agent on the Docker engine and the runtime image. The steps stream in over
// server-sent events with their measured durations while a real spawn runs (on the other replica
// with PostgreSQL), the API answers the same steps, and a spawn on a node whose disk is too small
// fails at its step with the reason and the way out. Without JavaScript the page reloads itself.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { sql } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import type { RunningAgent } from "../../agent/server.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { DRIVERS } from "../helpers/db.ts";
import { cleanupNode, ensureRuntimeImage, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { launchBrowser, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

const PASSWORD = "lantern quarry whistle 58";
const DURATION = /(?:\d+ ms|\d+\.\d s|\d+ min \d+ s)/;

/** Every version of the steps list the page showed while spawning, recorded in the page itself. */
async function recordSteps(p: Page) {
  await p.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seenSteps: string[] }).seenSteps = seen;
    new MutationObserver(() => {
      const list = document.querySelector("#spawn-progress #spawn-steps");
      if (!list) return;
      const text = [...list.querySelectorAll("li")]
        .map(
          (li) =>
            `${li.getAttribute("data-step")}=${li.getAttribute("data-outcome")}:${li.querySelector(".step-time")?.textContent ?? ""}`,
        )
        .join("|");
      if (seen.at(-1) !== text) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

const seenSteps = (p: Page) => p.evaluate(() => (window as unknown as { seenSteps: string[] }).seenSteps);

for (const driver of DRIVERS) {
  describe(`spawn progress [${driver}]`, () => {
    let server: TestServer;
    /** The replica the browser talks to: with PostgreSQL a second server, so the spawn runs elsewhere. */
    let replica: TestServer;
    let agent: RunningAgent;
    let fullAgent: RunningAgent | null = null;
    let fullDir = "";
    let browser: Browser;
    let main: WatchedPage;
    let page: Page;
    let token = "";
    const email = `progress-${driver}@example.test`;
    const api = (path: string, method = "GET") =>
      fetch(`${server.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` } });

    beforeAll(async () => {
      await ensureRuntimeImage();
      server = await startTestServer(driver, { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
      replica =
        driver === "postgres"
          ? await startTestServer(driver, {
              databaseUrl: server.databaseUrl ?? "",
              env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET },
            })
          : server;
      agent = await startTestAgent();
      await addNode(server.ctx.database.db, {
        name: "node-ok",
        url: agent.url,
        fingerprint: agent.fingerprint,
      });
      await server.reconcile();
      browser = await launchBrowser();
      main = await watchedPage(browser);
      page = main.page;
      await page.goto(`${replica.url}/signup`);
      await page.fill("#signup-email", email);
      await page.fill("#signup-password", PASSWORD);
      await Promise.all([
        page.waitForURL(`${replica.url}/dashboard`),
        page.click("#signup-form button[type=submit]"),
      ]);
      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      token = (await json(login)).access_token;
    });

    afterAll(async () => {
      await browser?.close();
      if (replica !== server) await replica?.close();
      await server?.close();
      await agent?.stop();
      if (agent) await cleanupNode(agent.nodeId);
      await fullAgent?.stop();
      if (fullAgent) await cleanupNode(fullAgent.nodeId, fullDir);
      if (fullDir) {
        Bun.spawnSync(["umount", fullDir]);
        rmSync(fullDir, { recursive: true, force: true });
      }
    });

    test("a real spawn streams its steps with measured durations, then the running card", async () => {
      const streams: string[] = [];
      page.on("response", (r) => {
        if (r.url().includes("/dashboard/progress")) streams.push(r.headers()["content-type"] ?? "");
      });
      const polled: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/dashboard/container")) polled.push(r.url());
      });
      if (replica === server) {
        await page.goto(`${replica.url}/dashboard`);
        await recordSteps(page);
        await page.click("#spawn-button");
      } else {
        // The spawn runs on the other replica; this page's stream reads the shared database.
        expect((await api("/session/spawn", "POST")).status).toBe(202);
        await page.goto(`${replica.url}/dashboard`);
        await recordSteps(page);
      }
      await page.locator('#container-card[data-state="spawning"] #spawn-progress').waitFor();
      // For the picture, a moment with a finished step when there is one (a fast spawn may not wait).
      await page
        .locator('#spawn-steps li[data-outcome="done"]')
        .first()
        .waitFor({ timeout: 5_000 })
        .catch(() => {});
      await screenshot(page, "dashboard-spawning-steps");
      await page.locator('#container-card[data-state="running"]').waitFor({ timeout: 90_000 });

      expect(streams.length).toBeGreaterThan(0);
      expect(streams.every((type) => type.startsWith("text/event-stream"))).toBe(true);
      expect(polled).toEqual([]);
      const seen = await seenSteps(page);
      // While it ran: placing done with its time, a later step counting up ("…").
      expect(seen.some((s) => new RegExp(`^scheduled=done:${DURATION.source}\\|`).test(s))).toBe(true);
      expect(seen.some((s) => new RegExp(`=running:${DURATION.source}…`).test(s))).toBe(true);

      // Once running: the whole time, and each step's, folded under it.
      const summary = (await page.locator("#started-in summary").textContent()) ?? "";
      expect(summary).toMatch(new RegExp(`^Started in ${DURATION.source}$`));
      await page.click("#started-in summary");
      const times = await page.locator("#started-in .step-time").allTextContents();
      expect(times.length).toBe(4);
      for (const time of times) expect(time).toMatch(new RegExp(`^${DURATION.source}$`));
      await screenshot(page, "dashboard-started-in");

      // The API answers the same timeline, from either replica.
      for (const base of [server.url, replica.url]) {
        const view = await json(
          await fetch(`${base}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } }),
        );
        expect(view.state).toBe("running");
        // All four, each with the node's own measure of it (the spawn's answer carries them).
        expect(view.steps.map((s: { step: string }) => s.step)).toEqual([
          "scheduled",
          "creating",
          "starting",
          "waiting for the gateway",
        ]);
        for (const s of view.steps) {
          expect(s.outcome).toBe("done");
          expect(s.duration_ms).toBeGreaterThanOrEqual(0);
          expect(Date.parse(s.ended_at) - Date.parse(s.started_at)).toBe(s.duration_ms);
        }
      }
      expect(main.incidents.csp).toEqual([]);
      expect(main.incidents.pageErrors).toEqual([]);
    });

    test("a spawn on a node without room fails at its step with the reason and what to do", async () => {
      expect((await api("/session/kill", "POST")).status).toBe(202);
      await server.ctx.database.db.execute(sql`update nodes set state = 'draining'`);
      // A 96 MiB tmpfs the test owns stands in for a nearly full node disk (test/sessions/out_of_disk).
      fullDir = tempDir("cf-agent-full");
      expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", fullDir]).exitCode).toBe(0);
      fullAgent = await startTestAgent({ CLAWFLEET_AGENT_DATA_DIR: fullDir });
      await addNode(server.ctx.database.db, {
        name: "node-full",
        url: fullAgent.url,
        fingerprint: fullAgent.fingerprint,
      });
      await server.reconcile();

      await page.goto(`${replica.url}/dashboard`);
      await recordSteps(page);
      await page.click("#spawn-button");
      await page.locator('#container-card[data-state="failed"]').waitFor({ timeout: 30_000 });
      const reason = (await page.locator("#failure-reason").textContent()) ?? "";
      expect(reason).toContain("while creating encrypted storage");
      expect(reason).toContain("no disk left");
      expect(await page.locator("#failure-todo").textContent()).toContain(
        "What to do: Try again later, or ask your admin.",
      );
      expect(await page.locator('#spawn-steps li[data-outcome="failed"]').getAttribute("data-step")).toBe(
        "creating",
      );
      expect(await page.locator('#spawn-steps li[data-step="scheduled"] .step-time').textContent()).toMatch(
        DURATION,
      );
      await page.locator("#spawn-button").waitFor();
      await screenshot(page, "dashboard-failed-step");

      const view = await json(await api("/session"));
      expect(view.state).toBe("failed");
      expect(view.steps.at(-1)).toMatchObject({ step: "creating", outcome: "failed" });
      expect(view.steps.at(-1).duration_ms).toBeGreaterThanOrEqual(0);
      expect(main.incidents.csp).toEqual([]);
      expect(main.incidents.pageErrors).toEqual([]);
    });

    test("without JavaScript, a spawning dashboard reloads itself until it is done", async () => {
      const context = await browser.newContext({ javaScriptEnabled: false });
      try {
        // A failed session keeps its node; killing it lets the next spawn be placed afresh.
        expect((await api("/session/kill", "POST")).status).toBe(202);
        await context.addCookies((await main.context.cookies()).map((c) => ({ ...c })));
        await server.ctx.database.db.execute(sql`update nodes set state = 'active' where name = 'node-ok'`);
        await server.ctx.database.db.execute(
          sql`update nodes set state = 'draining' where name = 'node-full'`,
        );
        const noJs = await context.newPage();
        await noJs.goto(`${replica.url}/dashboard`);
        await Promise.all([noJs.waitForURL(`${replica.url}/dashboard`), noJs.click("#spawn-button")]);
        // The spawning page carries the reload; each reload shows the steps so far.
        expect(await noJs.locator("#container-card").getAttribute("data-state")).toBe("spawning");
        expect(await noJs.locator('noscript meta[http-equiv="refresh"]').count()).toBe(1);
        const ended = await waitFor(
          "the reloads to reach the card of the outcome",
          async () => noJs.locator("#container-card").getAttribute("data-state"),
          (s) => s === "running" || s === "failed",
          90_000,
          500,
        );
        // The reason is in the message when it failed, so a failure says why.
        expect({ state: ended, reason: (await json(await api("/session"))).failure_reason }).toEqual({
          state: "running",
          reason: null,
        });
        expect(await noJs.locator('noscript meta[http-equiv="refresh"]').count()).toBe(0);
      } finally {
        await context.close();
      }
    });
  });
}
