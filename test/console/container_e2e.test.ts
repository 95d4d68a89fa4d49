// The whole job in a browser, against real parts: a server, a fleet agent on the Docker engine, the
// clawfleet-runtime image, and a fake AI provider in a network namespace the test creates (reached by
// the container like a public server). A new user signs up, adds a key, spawns (progress shown),
// chats (the reply streams in; the chat survives the automatic token refresh), runs a command in
// the terminal (which resizes), freezes, restores, kills, and deletes the account.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page, WebSocketRoute } from "playwright-core";
import { DEFAULT_BLOCKED, installFirewall } from "../../agent/firewall.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import type { FakeProvider } from "../fakes/provider.ts";
import { cleanupNode, dockerLeftovers, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { createNetns, type Netns, startFakeProviderInNetns } from "../helpers/netns.ts";
import { tempDir } from "../helpers/process.ts";
import { pinnedRuntimeImage } from "../helpers/runtime_image.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { createTestCa, type TestCa } from "../helpers/test_ca.ts";
import { launchBrowser, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

const PASSWORD = "correct horse battery staple";
const EMAIL = "e2e@example.test";
const KEY = "sk-proj-e2e-console-key-0123456789abcdef";
const XSS = `<img src=x onerror=alert(1)><script>alert("chat")</script>`;

let netns: Netns;
let ca: TestCa;
let provider: FakeProvider;
let agent: RunningAgent;
let server: TestServer;
let browser: Browser;
let main: WatchedPage;
let page: Page;
const gatewaySockets: WebSocketRoute[] = [];

async function containerState(p: Page, state: string, timeout = 60_000) {
  await p.locator(`#container-card[data-state="${state}"]`).waitFor({ timeout });
}

/** The text of the terminal's screen, as xterm.js renders it into the DOM. */
const screenText = (p: Page) =>
  // biome-ignore lint/performance/useDomNodeTextContent: xterm rows are divs; only innerText has the line breaks
  p.locator("#terminal .xterm-rows").innerText();

async function waitForScreen(p: Page, needle: RegExp, timeout = 15_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let text = "";
  while (Date.now() < deadline) {
    text = await screenText(p);
    if (needle.test(text)) return text;
    await Bun.sleep(100);
  }
  throw new Error(`the terminal never showed ${needle}: ${text}`);
}

beforeAll(async () => {
  const image = await pinnedRuntimeImage();
  netns = await createNetns();
  // The fake provider speaks HTTPS like a real one, with a certificate from a test CA the agent trusts;
  // the container reaches it only through the node's provider gateway, which adds the key.
  ca = createTestCa([netns.address]);
  provider = await startFakeProviderInNetns(netns, 443, {
    certFile: join(ca.dir, "server.pem"),
    keyFile: join(ca.dir, "server.key"),
    caPem: ca.caPem,
  });
  // The built-in template, on this checkout's runtime image.
  const runtime = BUILTIN_TEMPLATES.find((t) => t.name === "clawfleet-runtime");
  const templates = join(tempDir("cf-console-templates"), "templates.json");
  writeFileSync(templates, JSON.stringify([{ ...runtime, image }]));
  server = await startTestServer("pglite", { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
  agent = await startTestAgent({
    CLAWFLEET_AGENT_TEMPLATES: templates,
    CLAWFLEET_SERVER_URL: server.url,
    CLAWFLEET_PROVIDER_UPSTREAMS: `openai=https://${netns.address}`,
    CLAWFLEET_PROVIDER_CA: ca.caFile,
  });
  await addNode(server.ctx.database.db, { name: "node-e2e", url: agent.url, fingerprint: agent.fingerprint });
  await server.reconcile();
  browser = await launchBrowser();
  main = await watchedPage(browser);
  page = main.page;
  // Lets the test drop the chat's socket (as a network blip would) while everything else flows through.
  await page.routeWebSocket(/\/api\/v1\/session\/gateway$/, (ws) => {
    ws.connectToServer();
    gatewaySockets.push(ws);
  });
});

// The iptables chains are shared by every agent on this host; agents from other checkouts (without
// the provider gateway's port) may replace them at any time: put this tree's rules back before each test.
beforeEach(() => installFirewall(DEFAULT_BLOCKED));

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  await provider?.stop();
  await netns?.stop();
  if (ca) rmSync(ca.dir, { recursive: true, force: true });
});

describe("the console end to end, with a real container", () => {
  test("sign up, add a key, start the container and watch it come up", async () => {
    await page.goto(`${server.url}/signup`);
    await page.fill("#signup-email", EMAIL);
    await page.fill("#signup-password", PASSWORD);
    await Promise.all([
      page.waitForURL(`${server.url}/dashboard`),
      page.click("#signup-form button[type=submit]"),
    ]);
    expect(await page.locator("#container-card .alert-warn").textContent()).toContain("Add a key");

    await page.goto(`${server.url}/keys`);
    await page.selectOption("#key-provider", "openai");
    await page.fill("#key-value", KEY);
    await page.click("#add-key-form button[type=submit]");
    await page.getByText("Saved your OpenAI key").waitFor();

    await page.goto(`${server.url}/dashboard`);
    await page.click("#spawn-button");
    await containerState(page, "spawning", 10_000);
    expect(await page.locator("#container-card .steps").textContent()).toContain("Placing on a node");
    await screenshot(page, "dashboard-spawning");
    await containerState(page, "running", 90_000);
    expect(await page.locator("#container-card").textContent()).toContain("node-e2e");
    await screenshot(page, "dashboard-running");
    // Live usage from the node, polled, with a sparkline growing one point per answer.
    await page.goto(`${server.url}/dashboard`);
    await page.locator('#live-badge[data-live="live"]').waitFor({ timeout: 20_000 });
    expect(await page.locator("#live-pids [data-value]").textContent()).toMatch(/^[1-9]\d*$/);
    expect(await page.locator("#live-memory [data-value]").textContent()).toMatch(/^\d+ MB$/);
    await page.waitForFunction(
      () =>
        (document.querySelector("#live-cpu polyline")?.getAttribute("points") ?? "").split(" ").length >= 2,
      undefined,
      { timeout: 20_000 },
    );
    await screenshot(page, "dashboard-live");
  });

  test("chat: the reply streams in piece by piece, and hostile text stays text", async () => {
    await provider.script([
      {
        match: "tell me a story",
        reply: { kind: "text", chunks: ["Once ", "upon ", "a ", "time."], delayMs: 300 },
      },
    ]);
    await page.goto(`${server.url}/chat`);
    await page.locator('#chat[data-connected="true"]').waitFor({ timeout: 20_000 });
    await page.fill("#chat-input", "tell me a story");
    await page.keyboard.press("Enter");
    const reply = page.locator(".msg-assistant").last();
    const seen = new Set<string>();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await reply.getAttribute("data-done")) !== "true") {
      seen.add(((await reply.textContent()) ?? "").trim());
      await Bun.sleep(50);
    }
    expect(await reply.getAttribute("data-done")).toBe("true");
    expect(await reply.textContent()).toContain("Once upon a time.");
    // Partial text was on screen before the whole reply arrived.
    expect([...seen].some((text) => text.startsWith("Once") && !text.includes("time."))).toBe(true);
    const requests = await provider.requests();
    expect(requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);

    await page.fill("#chat-input", XSS);
    await page.click("#chat-send");
    const echo = page.locator(".msg-assistant").last();
    await echo.locator(".msg-meta").waitFor({ timeout: 20_000 });
    expect(await echo.textContent()).toContain(`You said: ${XSS}`);
    expect(await page.locator(".msg-user").last().textContent()).toBe(XSS);
    expect(await page.locator("#chat-log img, #chat-log script").count()).toBe(0);
    expect(await page.locator("#conversations button").count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, "chat");
  });

  test("chat: after the access cookie expired, a dropped socket reconnects through the refresh", async () => {
    await main.context.clearCookies({ name: "cf_access" });
    const before = gatewaySockets.length;
    await gatewaySockets.at(-1)?.close({ code: 1006, reason: "network blip" });
    await page.locator('#chat[data-connected="false"]').waitFor();
    await page.locator('#chat[data-connected="true"]').waitFor({ timeout: 20_000 });
    expect(gatewaySockets.length).toBe(before + 1);
    expect((await main.context.cookies()).some((c) => c.name === "cf_access")).toBe(true);
    await page.fill("#chat-input", "still there?");
    await page.keyboard.press("Enter");
    const reply = page.locator(".msg-assistant").last();
    await reply.locator(".msg-meta").waitFor({ timeout: 20_000 });
    expect(await reply.textContent()).toContain("You said: still there?");
  });

  test("terminal: a command runs in the container, and the shell follows the page's size", async () => {
    await page.goto(`${server.url}/terminal`);
    await page.locator("#terminal-status", { hasText: "Connected." }).waitFor({ timeout: 20_000 });
    await page.click("#terminal");
    await page.keyboard.type("echo TERM-$((40+2)); id -u; echo SIZE-A $(stty size)\n");
    const first = await waitForScreen(page, /TERM-42\s+1000\s+SIZE-A \d+ \d+/);
    const [, rows1, cols1] = /SIZE-A (\d+) (\d+)/.exec(first) ?? [];
    await screenshot(page, "terminal");
    // Copy (nothing selected: the whole screen) puts the output on the clipboard.
    await main.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    await page.click("#terminal-copy");
    await page.locator("#terminal-copied", { hasText: "Copied" }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain("TERM-42");
    // Full screen and back, with the keyboard.
    await page.locator("#terminal-fullscreen").focus();
    await page.keyboard.press("Enter");
    await page.locator('#terminal-fullscreen[aria-pressed="true"]').waitFor();
    expect(await page.evaluate(() => document.fullscreenElement?.id)).toBe("terminal-wrap");
    await page.locator("#terminal-fullscreen").click();
    await page.locator('#terminal-fullscreen[aria-pressed="false"]').waitFor();

    await page.setViewportSize({ width: 700, height: 600 });
    await Bun.sleep(400);
    await page.keyboard.type("echo SIZE-B $(stty size)\n");
    const after = await waitForScreen(page, /SIZE-B \d+ \d+/);
    const [, rows2, cols2] = /SIZE-B (\d+) (\d+)/.exec(after) ?? [];
    expect(Number(cols2)).toBeLessThan(Number(cols1));
    expect(Number(rows2)).toBeLessThan(Number(rows1));
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test("terminal: a reload reattaches to the same shell, its output still on screen", async () => {
    await page.goto(`${server.url}/terminal`);
    await page.locator("#terminal-status", { hasText: "Connected." }).waitFor({ timeout: 20_000 });
    await page.click("#terminal");
    await page.keyboard.type("echo SHELL-$$-ONE\n");
    const pid = /SHELL-(\d+)-ONE/.exec(await waitForScreen(page, /SHELL-\d+-ONE/))?.[1];
    await page.reload();
    await page.locator("#terminal-status", { hasText: "Connected." }).waitFor({ timeout: 20_000 });
    await waitForScreen(page, /SHELL-\d+-ONE/);
    await page.click("#terminal");
    await page.keyboard.type("echo SHELL-$$-TWO\n");
    const again = /SHELL-(\d+)-TWO/.exec(await waitForScreen(page, /SHELL-\d+-TWO/))?.[1];
    expect(again).toBe(pid);
  });

  test("freeze, restore, then kill (after the warning) from the dashboard", async () => {
    await page.goto(`${server.url}/dashboard`);
    await page.click("#freeze-button");
    await containerState(page, "frozen", 20_000);
    const [container] = await agent.manager.list();
    expect(container?.paused).toBe(true);
    await page.click("#restore-button");
    await containerState(page, "running", 20_000);
    expect((await agent.manager.list())[0]?.paused).toBe(false);

    await page.click("#kill-button");
    expect(await page.locator('#container-card [role="alertdialog"]').textContent()).toContain(
      "will be permanently deleted",
    );
    await page.click("#confirm-kill-button");
    await containerState(page, "none", 30_000);
    expect(dockerLeftovers(container?.sessionId ?? "")).toEqual({
      containers: [],
      volumes: [],
      networks: [],
    });
  });

  test("delete the account; nothing of it is left", async () => {
    await page.goto(`${server.url}/account`);
    await page.fill("#delete-password", PASSWORD);
    await page.check("#delete-confirm");
    await Promise.all([
      page.waitForURL(/\/login\?deleted=1$/),
      page.click("#delete-form button[type=submit]"),
    ]);
    expect(await agent.manager.list()).toEqual([]);
  });

  test("no CSP violation, script error or dialog on any page (xterm.js included)", () => {
    expect(main.incidents.csp).toEqual([]);
    expect(main.incidents.pageErrors).toEqual([]);
    expect(main.incidents.dialogs).toEqual([]);
  });
});
