// The chat's tool use in a browser, against real parts (a server, a fleet agent on the Docker engine,
// this checkout's runtime image, the fake provider in a network namespace behind the node's provider
// gateway): the user's settings reach the runtime, a shell call asks for approval and shows its
// result, a reload keeps the open conversation, a failed reply can be retried, an auth failure links
// to the Keys page, and without a key Send stays disabled. Any CSP violation fails the test.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { DEFAULT_BLOCKED, installFirewall } from "../../agent/firewall.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import type { FakeProvider } from "../fakes/provider.ts";
import { cleanupNode, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { createNetns, type Netns, startFakeProviderInNetns } from "../helpers/netns.ts";
import { tempDir } from "../helpers/process.ts";
import { pinnedRuntimeImage } from "../helpers/runtime_image.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { createTestCa, type TestCa } from "../helpers/test_ca.ts";
import { launchBrowser, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

const PASSWORD = "correct horse battery staple";
const KEY = "sk-proj-chat-tools-key-0123456789abcdef";
const PROMPT = `You are Tessa, the chat-tools tester ${crypto.randomUUID().slice(0, 8)}.`;

let netns: Netns;
let ca: TestCa;
let provider: FakeProvider;
let agent: RunningAgent;
let server: TestServer;
let browser: Browser;
let main: WatchedPage;
let page: Page;

beforeAll(async () => {
  const image = await pinnedRuntimeImage();
  netns = await createNetns();
  ca = createTestCa([netns.address]);
  provider = await startFakeProviderInNetns(netns, 443, {
    certFile: join(ca.dir, "server.pem"),
    keyFile: join(ca.dir, "server.key"),
    caPem: ca.caPem,
  });
  const runtime = BUILTIN_TEMPLATES.find((t) => t.name === "clawfleet-runtime");
  const templates = join(tempDir("cf-chat-tools-templates"), "templates.json");
  writeFileSync(templates, JSON.stringify([{ ...runtime, image }]));
  server = await startTestServer("pglite", { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
  agent = await startTestAgent({
    CLAWFLEET_AGENT_TEMPLATES: templates,
    CLAWFLEET_SERVER_URL: server.url,
    CLAWFLEET_PROVIDER_UPSTREAMS: `openai=https://${netns.address}`,
    CLAWFLEET_PROVIDER_CA: ca.caFile,
  });
  await addNode(server.ctx.database.db, {
    name: "node-chat-tools",
    url: agent.url,
    fingerprint: agent.fingerprint,
  });
  await server.reconcile();
  browser = await launchBrowser();
  main = await watchedPage(browser);
  page = main.page;
});

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

async function connectedChat(): Promise<void> {
  await page.locator('#chat[data-connected="true"]').waitFor({ timeout: 30_000 });
}

describe("the chat with tools, in a browser", () => {
  test("settings are saved from the console form", async () => {
    await page.goto(`${server.url}/signup`);
    await page.fill("#signup-email", "chat-tools@example.test");
    await page.fill("#signup-password", PASSWORD);
    await Promise.all([
      page.waitForURL(`${server.url}/dashboard`),
      page.click("#signup-form button[type=submit]"),
    ]);

    await page.goto(`${server.url}/settings`);
    await page.selectOption("#settings-provider", "openai");
    await page.fill("#settings-model", "gpt-tools-test");
    await page.fill("#settings-prompt", PROMPT);
    await page.check("#settings-shell-ask");
    await page.click("#settings-form button[type=submit]");
    await page.getByText("Settings saved.").waitFor();
    await screenshot(page, "settings");
    await page.reload();
    expect(await page.inputValue("#settings-model")).toBe("gpt-tools-test");
    expect(await page.inputValue("#settings-prompt")).toBe(PROMPT);
    expect(await page.isChecked("#settings-shell-ask")).toBe(true);

    // Bad input is refused with a message and changes nothing.
    await page.fill("#settings-model", "<not a model>");
    await page.click("#settings-form button[type=submit]");
    await page.getByText("default_model must be a model name").waitFor();
    await page.reload();
    expect(await page.inputValue("#settings-model")).toBe("gpt-tools-test");
  });

  test("a shell call asks first, runs once approved, and shows its result; settings reached the runtime", async () => {
    await page.goto(`${server.url}/keys`);
    await page.selectOption("#key-provider", "openai");
    await page.fill("#key-value", KEY);
    await page.click("#add-key-form button[type=submit]");
    await page.getByText("Saved your OpenAI key").waitFor();
    await page.goto(`${server.url}/dashboard`);
    await page.click("#spawn-button");
    await page.locator('#container-card[data-state="running"]').waitFor({ timeout: 90_000 });

    await provider.script([
      {
        match: "what is in my container",
        times: 1,
        reply: {
          kind: "tool_calls",
          chunks: ["Let me check."],
          calls: [
            { name: "shell", input: { command: "echo tool-ran-$((20+22)) > proof.txt; cat proof.txt" } },
          ],
        },
      },
      {
        match: "what is in my container",
        times: 1,
        reply: { kind: "text", chunks: ["It said ", "tool-ran-42."] },
      },
    ]);
    await provider.clearRequests();
    await page.goto(`${server.url}/chat`);
    await connectedChat();
    await page.fill("#chat-input", "what is in my container?");
    await page.keyboard.press("Enter");

    const tool = page.locator('.msg-tool[data-tool="shell"]');
    await tool.locator(".tool-approval").waitFor({ timeout: 30_000 });
    expect(await tool.locator(".tool-input").textContent()).toContain("echo tool-ran-");
    expect(await tool.getAttribute("data-status")).toBe("waiting");
    await screenshot(page, "chat-tool-approval");
    await tool.locator(".tool-approve").click();
    await tool.locator(".tool-output").waitFor({ timeout: 20_000 });
    expect(await tool.locator(".tool-output").textContent()).toContain("tool-ran-42");
    expect(await tool.getAttribute("data-status")).toBe("ok");
    const reply = page.locator(".msg-assistant").last();
    await reply.locator(".msg-meta").waitFor({ timeout: 20_000 });
    expect(await reply.textContent()).toContain("It said tool-ran-42.");
    await screenshot(page, "chat-tool-result");

    // The settings went with the chat: the model and the system prompt the user chose.
    const requests = await provider.requests();
    const first = requests[0]?.body as { model?: string; messages?: { role: string; content: string }[] };
    expect(first.model).toBe("gpt-tools-test");
    expect(first.messages?.[0]).toMatchObject({ role: "system" });
    expect(first.messages?.[0]?.content).toStartWith(PROMPT);
    // The conversation list refreshed without a reload.
    await page.locator("#conversations button", { hasText: "what is in my container?" }).waitFor();
  });

  test("a reload keeps the open conversation, its tool call included", async () => {
    expect(page.url()).toMatch(/#c=[A-Za-z0-9_:.-]+$/);
    await page.reload();
    await connectedChat();
    await page.locator(".msg-user", { hasText: "what is in my container?" }).waitFor({ timeout: 20_000 });
    const tool = page.locator('.msg-tool[data-tool="shell"]');
    expect(await tool.getAttribute("data-status")).toBe("ok");
    expect(await tool.locator(".tool-output").textContent()).toContain("tool-ran-42");
    expect(await page.locator('#conversations button[aria-current="true"]').textContent()).toBe(
      "what is in my container?",
    );
  });

  test("a failed reply offers Retry, which answers; an auth failure links to the Keys page", async () => {
    await provider.script([
      {
        match: "flaky question",
        times: 1,
        reply: { kind: "http_error", status: 500, message: "upstream hiccup" },
      },
      { match: "flaky question", reply: { kind: "text", chunks: ["Answered ", "on retry."] } },
      { match: "locked out", times: 1, reply: { kind: "http_error", status: 401, message: "bad key" } },
    ]);
    await page.fill("#chat-input", "flaky question");
    await page.keyboard.press("Enter");
    const failed = page.locator(".msg-error").last();
    await failed.locator(".msg-retry").waitFor({ timeout: 20_000 });
    await failed.locator(".msg-retry").click();
    const answered = page.locator(".msg-assistant").last();
    await answered.locator(".msg-meta").waitFor({ timeout: 20_000 });
    expect(await answered.textContent()).toContain("Answered on retry.");
    expect(await page.locator(".msg-error").count()).toBe(0);

    await page.fill("#chat-input", "locked out");
    await page.keyboard.press("Enter");
    const link = page.locator(".msg-error .msg-keys-link").last();
    await link.waitFor({ timeout: 20_000 });
    expect(await link.getAttribute("href")).toBe("/keys");
  });

  test("without a key, Send stays disabled and the page points to the Keys page", async () => {
    await page.goto(`${server.url}/keys`);
    await page.click('#keys-table tr[data-provider="openai"] button[type=submit]');
    await page.click("#confirm-delete-key-button");
    await page.getByText(/Deleted your OpenAI.* key/).waitFor();
    await page.goto(`${server.url}/chat`);
    await connectedChat();
    await page.locator("#chat-keys-link").waitFor();
    expect(await page.locator("#chat-keys-link").getAttribute("href")).toBe("/keys");
    expect(await page.locator("#chat-send").isDisabled()).toBe(true);
    await screenshot(page, "chat-no-key");
  });

  test("nothing broke the page's rules", () => {
    expect(main.incidents.csp).toEqual([]);
    expect(main.incidents.pageErrors).toEqual([]);
    expect(main.incidents.dialogs).toEqual([]);
  });
});
