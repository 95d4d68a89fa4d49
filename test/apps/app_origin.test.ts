// Container apps on their own origin, in Chromium: the console hands the browser a ticket, the app
// host trades it for its own host-only HttpOnly cookie, and the page is the container's. App pages
// cannot read the console's cookies (nor does the container receive them), another user's app origin
// is refused, a frozen container wakes on a page load, and signing out ends app access.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import type { RunningAgent } from "../../agent/server.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { ensureTestboxImage, TESTBOX_TEMPLATE } from "../agent/testbox/image.ts";
import { cleanupNode, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { freePort, tempDir } from "../helpers/process.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const PASSWORD = "correct horse battery staple";
const CONSOLE_HOST = "console.clawfleet.test";
const APPS_DOMAIN = "apps.clawfleet.test";

describe("container apps on their own origin (Chromium)", () => {
  let server: TestServer;
  let agent: RunningAgent;
  let browser: Browser;
  let port = 0;
  let consoleUrl = "";
  const users: Record<"a" | "b", { email: string; token: string; context?: BrowserContext; page?: Page }> = {
    a: { email: "apps-a@example.test", token: "" },
    b: { email: "apps-b@example.test", token: "" },
  };
  const api = (who: "a" | "b", path: string, init: RequestInit = {}) =>
    fetch(`${server.url}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${users[who].token}`, "content-type": "application/json" },
    });
  const state = async (who: "a" | "b") => (await json(await api(who, "/session"))).state as string;

  async function signIn(who: "a" | "b"): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${consoleUrl}/login`);
    await page.fill("#login-email", users[who].email);
    await page.fill("#login-password", PASSWORD);
    await Promise.all([
      page.waitForURL((url) => !url.pathname.startsWith("/login")),
      page.click("#login-form button[type=submit]"),
    ]);
    users[who].context = context;
    users[who].page = page;
    return page;
  }

  beforeAll(async () => {
    await ensureTestboxImage();
    const templates = join(tempDir("cf-app-templates"), "templates.json");
    await Bun.write(
      templates,
      JSON.stringify([{ ...TESTBOX_TEMPLATE, name: "clawfleet-runtime", appPort: TESTBOX_TEMPLATE.port }]),
    );
    agent = await startTestAgent({ CLAWFLEET_AGENT_TEMPLATES: templates });
    port = await freePort();
    consoleUrl = `http://${CONSOLE_HOST}:${port}`;
    server = await startTestServer("pglite", {
      env: {
        PORT: String(port),
        CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
        CLAWFLEET_PUBLIC_URL: consoleUrl,
        CLAWFLEET_APPS_DOMAIN: APPS_DOMAIN,
        CLAWFLEET_HOOK_WAIT: "20s",
      },
    });
    await addNode(server.ctx.database.db, { name: "n1", url: agent.url, fingerprint: agent.fingerprint });
    await server.reconcile();
    for (const who of ["a", "b"] as const) {
      const signup = await json(
        await fetch(`${server.url}/api/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: users[who].email, password: PASSWORD }),
        }),
      );
      users[who].token = signup.access_token;
      await server.ctx.database.db.execute(
        sql`update users set plan_id = 'ultra' where id = ${signup.user.id}`,
      );
      expect((await api(who, "/session/spawn", { method: "POST" })).status).toBe(202);
    }
    for (const who of ["a", "b"] as const)
      await waitFor(
        "running",
        () => state(who),
        (s) => s === "running",
        60_000,
      );
    browser = await chromium.launch({
      executablePath: process.env.CLAWFLEET_TEST_CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        // Every *.clawfleet.test name is this machine; nothing is resolved outside.
        "--host-resolver-rules=MAP *.clawfleet.test 127.0.0.1, MAP *.apps.clawfleet.test 127.0.0.1",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await agent?.stop();
    if (agent) await cleanupNode(agent.nodeId);
  });

  let appUrlA = "";

  test("the handshake opens the user's app on its own origin with a host-only HttpOnly cookie", async () => {
    const page = await signIn("a");
    // A console cookie that scripts could read, to prove the app origin cannot.
    await users.a.context?.addCookies([
      { name: "console_visible", value: "seen-by-console-only", url: consoleUrl },
    ]);
    await page.goto(`${consoleUrl}/apps/open?next=/app`);
    const url = new URL(page.url());
    expect(url.hostname).toMatch(new RegExp(`^[a-z0-9]{12}\\.${APPS_DOMAIN.replaceAll(".", "\\.")}$`));
    expect(url.pathname).toBe("/app");
    expect(url.search).toBe("");
    expect(await page.textContent("#app")).toBe("testbox app");
    appUrlA = `${url.origin}/app`;
    const cookies = await users.a.context?.cookies(url.origin);
    const appCookie = cookies?.find((c) => c.name === "cf_app");
    expect(appCookie?.httpOnly).toBe(true);
    expect(appCookie?.domain).toBe(url.hostname); // host-only: no leading dot, no parent domain
  });

  test("app pages cannot read console cookies, and the container never receives them", async () => {
    const page = users.a.page as Page;
    expect(await page.evaluate(() => document.cookie)).toBe("");
    const seen = await page.evaluate(async () => {
      const response = await fetch("/hooks/echo", { method: "POST", body: "x" });
      return (await response.json()) as { headers: Record<string, string> };
    });
    const cookieHeader = seen.headers.cookie ?? "";
    expect(cookieHeader).not.toContain("cf_access");
    expect(cookieHeader).not.toContain("cf_refresh");
    expect(cookieHeader).not.toContain("console_visible");
    expect(cookieHeader).not.toContain("cf_app");
    // The console itself does still have its cookies (the check above could fail).
    const consoleCookies = await users.a.context?.cookies(consoleUrl);
    expect(consoleCookies?.map((c) => c.name)).toEqual(
      expect.arrayContaining(["cf_access", "console_visible"]),
    );
  });

  test("the app's WebSocket is relayed to the container through server and agent", async () => {
    const page = users.a.page as Page;
    const echoed = await page.evaluate(
      () =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(`ws://${location.host}/app-socket`);
          ws.onopen = () => ws.send("ping from the app page");
          ws.onmessage = (event) => {
            resolve(String(event.data));
            ws.close();
          };
          ws.onerror = () => reject(new Error("socket failed"));
        }),
    );
    expect(echoed).toBe("ping from the app page");
  });

  test("another app's pages cannot post or open sockets here with this app's cookie", async () => {
    const host = new URL(appUrlA).host;
    const cookie = (await users.a.context?.cookies(`http://${host}`))?.find(
      (c) => c.name === "cf_app",
    )?.value;
    expect(cookie).toBeTruthy();
    const foreign = `http://aaaaaaaaaaaa.${APPS_DOMAIN}:${port}`;
    const post = await fetch(`${server.url}/hooks/echo`, {
      method: "POST",
      body: "x",
      headers: { host, cookie: `cf_app=${cookie}`, origin: foreign },
    });
    expect(post.status).toBe(403);
    expect((await json(post)).error.code).toBe("cross_origin");
    const own = await fetch(`${server.url}/hooks/echo`, {
      method: "POST",
      body: "x",
      headers: { host, cookie: `cf_app=${cookie}`, origin: `http://${host}` },
    });
    expect(own.status).toBe(201);
    const socket = await fetch(`${server.url}/app-socket`, {
      headers: {
        host,
        cookie: `cf_app=${cookie}`,
        origin: foreign,
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    expect(socket.status).toBe(403);
  });

  test("another user's app origin is refused", async () => {
    const page = await signIn("b");
    const response = await page.goto(appUrlA);
    expect(response?.status()).toBe(403);
    expect(new URL(page.url()).hostname).toBe(CONSOLE_HOST);
    expect(await page.textContent("body")).toContain("belongs to another account");
    expect(await page.content()).not.toContain("testbox app");
    // B's own ticket, taken to A's host, is refused too (tickets name their host's slug).
    const access = (await users.b.context?.cookies(consoleUrl))?.find((c) => c.name === "cf_access")?.value;
    const open = await fetch(`${server.url}/apps/open?next=/app`, {
      headers: { cookie: `cf_access=${access}`, host: `${CONSOLE_HOST}:${port}` },
      redirect: "manual",
    });
    expect(open.status).toBe(303);
    const ticketUrl = new URL(open.headers.get("location") ?? "");
    expect(ticketUrl.host).not.toBe(new URL(appUrlA).host);
    const replay = await fetch(`${server.url}${ticketUrl.pathname}${ticketUrl.search}`, {
      headers: { host: new URL(appUrlA).host },
      redirect: "manual",
    });
    expect(replay.status).toBe(403);
    expect((await json(replay)).error.code).toBe("invalid_ticket");
  });

  test("a page load wakes a frozen container", async () => {
    expect((await api("a", "/session/freeze", { method: "POST" })).status).toBe(202);
    await waitFor(
      "frozen",
      () => state("a"),
      (s) => s === "frozen",
    );
    const page = users.a.page as Page;
    const response = await page.goto(appUrlA);
    expect(response?.status()).toBe(200);
    expect(await page.textContent("#app")).toBe("testbox app");
    expect(await state("a")).toBe("running");
  });

  test("signing out of the console ends app access", async () => {
    const page = users.a.page as Page;
    await page.goto(`${consoleUrl}/`);
    // The console's own sign-out, as its pages' scripts send it (fetch with the page's CSRF token).
    // A plain form post is not used here: over plain HTTP on a non-loopback name Chromium sends
    // neither a real Origin (the console's no-referrer policy) nor Sec-Fetch-Site, so the console
    // rightly refuses it; under HTTPS the form works.
    const status = await page.evaluate(async () => {
      const csrf = (document.querySelector("form.signout input[name=_csrf]") as HTMLInputElement).value;
      const response = await fetch("/logout", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `_csrf=${encodeURIComponent(csrf)}`,
      });
      return response.status;
    });
    expect(status).toBe(200);
    const response = await page.goto(appUrlA);
    expect(new URL(page.url()).hostname).toBe(CONSOLE_HOST);
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(response?.status()).toBe(200);
    expect(await page.content()).not.toContain("testbox app");
  });
});
