// Template choice and upgrades in the console, against real parts (server, agent on the Docker engine,
// this checkout's runtime image under a test tag): an admin picks which assistants users may start,
// the dashboard offers that choice and refuses one not offered, and once a newer image appears under
// the template's tag the dashboard offers the upgrade, which keeps the container's data. Any CSP
// violation or page error fails the test.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { cleanupNode, dockerInspect, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { pinnedRuntimeImage } from "../helpers/runtime_image.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { launchBrowser, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

const PASSWORD = "correct horse battery staple";
const EMAIL = "assistant-choice@example.test";
const TAG = `cf-choice-test:${crypto.randomUUID().slice(0, 8)}`;

let server: TestServer;
let agent: RunningAgent;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let templatesDir = "";

function docker(args: string[], stdin?: string): string {
  const proc = Bun.spawnSync(["docker", ...args], {
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (proc.exitCode !== 0) throw new Error(`docker ${args[0]}: ${proc.stderr.toString().trim()}`);
  return proc.stdout.toString().trim();
}

async function sessionRow(): Promise<{ template: string; docker_id: string | null; state: string }> {
  const result = await server.ctx.database.db.execute(
    sql`select s.template, s.docker_id, s.state from agent_sessions s join users u on u.id = s.user_id where u.email = ${EMAIL}`,
  );
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as never[];
  return rows[0] ?? { template: "", docker_id: null, state: "none" };
}

beforeAll(async () => {
  docker(["tag", await pinnedRuntimeImage(), TAG]);
  const runtime = BUILTIN_TEMPLATES.find((t) => t.name === "clawfleet-runtime");
  templatesDir = tempDir("cf-choice-templates");
  const templates = join(templatesDir, "templates.json");
  writeFileSync(templates, JSON.stringify([{ ...runtime, image: TAG }]));
  server = await startTestServer("pglite", {
    env: {
      CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
      CLAWFLEET_USER_TEMPLATES: "clawfleet-runtime,openclaw",
    },
  });
  agent = await startTestAgent({ CLAWFLEET_AGENT_TEMPLATES: templates, CLAWFLEET_SERVER_URL: server.url });
  await addNode(server.ctx.database.db, {
    name: "node-choice",
    url: agent.url,
    fingerprint: agent.fingerprint,
  });
  await server.reconcile();
  browser = await launchBrowser();
  watched = await watchedPage(browser);
  page = watched.page;
  await page.goto(`${server.url}/signup`);
  await page.fill("#signup-email", EMAIL);
  await page.fill("#signup-password", PASSWORD);
  await Promise.all([
    page.waitForURL(`${server.url}/dashboard`),
    page.click("#signup-form button[type=submit]"),
  ]);
  await server.ctx.database.db.execute(sql`update users set is_admin = true where email = ${EMAIL}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  Bun.spawnSync(["docker", "rmi", "-f", TAG]);
  if (templatesDir) rmSync(templatesDir, { recursive: true, force: true });
});

describe("choosing an assistant and upgrading it, in a browser", () => {
  test("an admin chooses which assistants users may pick; none at all is refused", async () => {
    await page.goto(`${server.url}/admin`);
    await page.click("#admin-templates-link");
    await page.waitForURL(`${server.url}/admin/templates`);
    expect(await page.isChecked("#template-clawfleet-runtime")).toBe(true);
    expect(await page.isChecked("#template-openclaw")).toBe(true);
    await page.uncheck("#template-clawfleet-runtime");
    await page.uncheck("#template-openclaw");
    await page.click("#templates-save");
    await page.getByText("templates must be a list of 1 to 50").waitFor();
    await page.reload();
    expect(await page.isChecked("#template-openclaw")).toBe(true);
    // Only the built-in one: the dashboard then offers no choice.
    await page.uncheck("#template-openclaw");
    await page.click("#templates-save");
    await page.getByText("Saved.").waitFor();
    await page.goto(`${server.url}/dashboard`);
    expect(await page.locator("#template-select").count()).toBe(0);
    await page.goto(`${server.url}/admin/templates`);
    await page.check("#template-openclaw");
    await page.click("#templates-save");
    await page.getByText("Saved.").waitFor();
    await screenshot(page, "admin-templates");
  });

  test("the dashboard offers the enabled assistants, refuses another, and starts the chosen one", async () => {
    await page.goto(`${server.url}/dashboard`);
    const options = await page
      .locator("#template-select option")
      .evaluateAll((all) => all.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(["clawfleet-runtime", "openclaw"]);
    await screenshot(page, "dashboard-template-choice");
    // A value the form never offered (as a hand-made request would send) is refused; nothing starts.
    await page
      .locator("#template-select option")
      .first()
      .evaluate((o) => {
        (o as HTMLOptionElement).value = "not-offered";
      });
    await page.click("#spawn-button");
    await page.getByText("That assistant is not offered on this server").waitFor();
    expect((await sessionRow()).state).toBe("none");
    await page.goto(`${server.url}/dashboard`);
    await page.selectOption("#template-select", "clawfleet-runtime");
    await page.click("#spawn-button");
    await page.locator('#container-card[data-state="running"]').waitFor({ timeout: 90_000 });
    expect((await sessionRow()).template).toBe("clawfleet-runtime");
    expect(await page.locator("#upgrade-offer").count()).toBe(0);
  }, 120_000);

  test("a newer image under the template's tag is offered as an upgrade that keeps the container's data", async () => {
    const before = await sessionRow();
    const container = dockerInspect(before.docker_id ?? "")?.Name?.replace(/^\//, "") ?? "";
    docker(["exec", container, "sh", "-c", "echo kept-across-upgrade > /data/marker"]);
    docker(["build", "-q", "-t", TAG, "-"], `FROM ${TAG}\nLABEL clawfleet.test-upgrade="${Date.now()}"\n`);
    await page.goto(`${server.url}/dashboard`);
    await page.locator("#upgrade-offer").waitFor();
    await screenshot(page, "dashboard-upgrade-offer");
    await page.click("#upgrade-button");
    await page.getByText("Upgraded: your assistant runs the newest version").waitFor({ timeout: 90_000 });
    const after = await sessionRow();
    expect(after.docker_id).not.toBe(before.docker_id);
    expect(docker(["exec", container, "cat", "/data/marker"])).toBe("kept-across-upgrade");
    await page.reload();
    expect(await page.locator("#upgrade-offer").count()).toBe(0);
    expect(watched.incidents.csp).toEqual([]);
    expect(watched.incidents.pageErrors).toEqual([]);
  }, 120_000);
});
