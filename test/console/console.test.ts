// The web console in a real browser (Debian's chromium, playwright-core) against a real server on
// PGlite: sign up, sign in, dashboard, keys, account (sessions, password, deletion), admin, friendly
// errors, escaping of hostile input, cross-site posts refused, no CSP violation anywhere.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { agentSessions, nodes, users } from "../../src/db/schema.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { fitsWidth, launchBrowser, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "another long passphrase 2024";
// Valid as an email address (no spaces, one @), and HTML if anything forgot to escape it.
const XSS_EMAIL = "<img/src=x/onerror=alert(document.domain)>@xss.example";
const XSS = `<script>alert("xss")</script><img src=x onerror=alert(1)>"'&`;

let server: TestServer;
let browser: Browser;
let main: WatchedPage;
let page: Page;

/**
 * The browser itself refuses to submit "<" in a type=email field; an attacker is not so polite, and
 * the server accepts such an address (it is valid), so the tests switch the browser's check off.
 */
async function skipBrowserValidation(p: Page, form: string) {
  await p.locator(form).evaluate((f) => {
    (f as HTMLFormElement).noValidate = true;
  });
}

async function signIn(p: Page, email: string, password: string) {
  await p.goto(`${server.url}/login`);
  await skipBrowserValidation(p, "#login-form");
  await p.fill("#login-email", email);
  await p.fill("#login-password", password);
  await Promise.all([p.waitForURL(`${server.url}/dashboard`), p.click("#login-form button[type=submit]")]);
}

async function userId(email: string): Promise<string> {
  const [row] = await server.ctx.database.db.select().from(users).where(eq(users.email, email));
  if (!row) throw new Error(`no user ${email}`);
  return row.id;
}

/** The page shows `text` literally, and nothing it contains became an element. */
async function expectInert(p: Page, text: string) {
  expect(await p.locator("body").textContent()).toContain(text.replace(/\s+/g, " ").trim().slice(0, 20));
  expect(await p.locator("img[src=x], script:not([src])").count()).toBe(0);
}

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

describe("web console in chromium", () => {
  test("the root shows a visitor the front page; the sign-in and sign-up pages render", async () => {
    await page.goto(server.url);
    expect(page.url()).toBe(`${server.url}/`);
    await Promise.all([page.waitForURL(`${server.url}/login`), page.click("#landing-login")]);
    expect(await page.locator("h1").textContent()).toBe("Sign in");
    await screenshot(page, "login");
    await page.goto(`${server.url}/signup`);
    await screenshot(page, "signup");
  });

  test("sign-up refuses bad input with friendly messages, in place", async () => {
    await page.goto(`${server.url}/signup`);
    await page.fill("#signup-email", "not-an-email");
    await page.fill("#signup-password", PASSWORD);
    await skipBrowserValidation(page, "#signup-form");
    await page.click("#signup-form button[type=submit]");
    const slot = page.locator("#signup-form [data-error-slot]");
    await slot.getByText("Enter a valid email address.").waitFor();
    await page.fill("#signup-email", "short@example.test");
    await page.fill("#signup-password", "tooshort");
    await page.click("#signup-form button[type=submit]");
    await slot.getByText("The password needs at least 12 characters.").waitFor();
    await page.fill("#signup-password", "1qaz2wsx3edc");
    await page.click("#signup-form button[type=submit]");
    await slot.getByText("This password is too common").waitFor();
    expect(await slot.textContent()).not.toContain("{");
    expect(page.url()).toBe(`${server.url}/signup`);
  });

  test("a new user signs up with the keyboard alone and lands on the dashboard", async () => {
    await page.goto(`${server.url}/signup`);
    await skipBrowserValidation(page, "#signup-form");
    // The email field has the focus on arrival; Tab moves to the password; Enter submits.
    await page.keyboard.type(XSS_EMAIL);
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await Promise.all([page.waitForURL(`${server.url}/dashboard`), page.keyboard.press("Enter")]);
    expect(await page.locator("h1").textContent()).toBe("Dashboard");
    expect(await page.locator("#container-state").textContent()).toBe("No container");
    expect(await page.locator(".who").textContent()).toBe(XSS_EMAIL);
    await expectInert(page, XSS_EMAIL);
    await screenshot(page, "dashboard");
  });

  test("signing up twice with one email says so kindly", async () => {
    const other = await watchedPage(browser);
    await other.page.goto(`${server.url}/signup`);
    await skipBrowserValidation(other.page, "#signup-form");
    await other.page.fill("#signup-email", XSS_EMAIL);
    await other.page.fill("#signup-password", PASSWORD);
    await other.page.click("#signup-form button[type=submit]");
    await other.page.getByText("An account with this email already exists. Sign in instead.").waitFor();
    await other.context.close();
  });

  test("sign out, a wrong password, then sign in again", async () => {
    await Promise.all([page.waitForURL(`${server.url}/login`), page.click(".signout button")]);
    await page.goto(`${server.url}/dashboard`);
    expect(page.url()).toBe(`${server.url}/login?next=%2Fdashboard`);
    await skipBrowserValidation(page, "#login-form");
    await page.fill("#login-email", XSS_EMAIL);
    await page.fill("#login-password", "wrong password entirely");
    await page.click("#login-form button[type=submit]");
    await page
      .locator("#login-form [data-error-slot]")
      .getByText("The email or password is incorrect.")
      .waitFor();
    await page.fill("#login-password", PASSWORD);
    await Promise.all([
      page.waitForURL(`${server.url}/dashboard`),
      page.click("#login-form button[type=submit]"),
    ]);
  });

  test("an expired access cookie is refreshed on the next page, invisibly", async () => {
    const before = (await main.context.cookies()).find((c) => c.name === "cf_refresh")?.value;
    await main.context.clearCookies({ name: "cf_access" });
    await page.goto(`${server.url}/keys`);
    expect(page.url()).toBe(`${server.url}/keys`);
    const cookies = await main.context.cookies();
    expect(cookies.find((c) => c.name === "cf_access")?.value).toBeTruthy();
    expect(cookies.find((c) => c.name === "cf_refresh")?.value).not.toBe(before);
  });

  test("keys: a malformed key is refused, a good one is listed by preview only, then deleted", async () => {
    await page.goto(`${server.url}/keys`);
    await screenshot(page, "keys-empty");
    await page.selectOption("#key-provider", "openai");
    await page.fill("#key-value", XSS);
    await page.click("#add-key-form button[type=submit]");
    const slot = page.locator("#add-key-form [data-error-slot]");
    await slot.getByText("That does not look like an OpenAI key").waitFor();
    expect(await slot.textContent()).not.toContain("script");
    // The form kept what was typed, so it can be corrected.
    expect(await page.inputValue("#key-value")).toBe(XSS);

    const key = "sk-proj-console-test-key-0123456789abcd";
    await page.fill("#key-value", key);
    await page.click("#add-key-form button[type=submit]");
    await page.getByText("Saved your OpenAI key (sk-proj-…abcd).").waitFor();
    expect(await page.locator("#keys-table .key-preview").textContent()).toBe("sk-proj-…abcd");
    expect(await page.content()).not.toContain(key);
    expect(await page.inputValue("#key-value")).toBe("");
    await screenshot(page, "keys");

    await page.selectOption("#key-provider", "anthropic");
    await page.fill("#key-value", "sk-ant-console-test-key-0123456789wxyz");
    await page.click("#add-key-form button[type=submit]");
    await page.getByText("Saved your Anthropic (Claude) key").waitFor();
    expect(await page.locator("#keys-table tbody tr").count()).toBe(2);

    await page.click('#keys-table tr[data-provider="anthropic"] button');
    await page.click("#confirm-delete-key-button");
    await page.getByText("Deleted your Anthropic (Claude) key").waitFor();
    expect(await page.locator("#keys-table tbody tr").count()).toBe(1);
  });

  test("dashboard: spawn with no node shows progress then a clear failure; kill asks first", async () => {
    await page.goto(`${server.url}/dashboard`);
    await page.click("#spawn-button");
    // No node is registered, so the spawn job fails while placing it, and says what to do.
    await page.locator('#container-card[data-state="failed"]').waitFor({ timeout: 15_000 });
    expect(await page.locator("#container-card .alert-error").textContent()).toContain(
      "Your container could not be started (while placing on a node). Every node is full right now.",
    );
    expect(await page.locator("#failure-todo").textContent()).toBe(
      "What to do: Try again later or ask the operator to add capacity.",
    );
    await screenshot(page, "dashboard-failed");
    await page.click("#kill-button");
    const dialog = page.locator('#container-card [role="alertdialog"]');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("will be permanently deleted");
    expect(await dialog.textContent()).toContain("cannot be undone");
    // The safe choice has the focus; Enter on it cancels.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-kill-button");
    await screenshot(page, "dashboard-kill-confirm");
    await page.keyboard.press("Enter");
    await page.locator('#container-card [role="alertdialog"]').waitFor({ state: "detached" });
    await page.click("#kill-button");
    await page.click("#confirm-kill-button");
    await page.locator('#container-card[data-state="none"]').waitFor();
    await page.getByText("Your container was killed and its data deleted.").waitFor();
  });

  test("a failure reason from a node is shown as text", async () => {
    const id = await userId(XSS_EMAIL);
    await server.ctx.database.db
      .update(agentSessions)
      .set({ state: "failed", failureReason: XSS })
      .where(eq(agentSessions.userId, id));
    await page.goto(`${server.url}/dashboard`);
    expect(await page.locator("#container-card .alert-error").textContent()).toContain(XSS);
    await expectInert(page, XSS);
    await server.ctx.database.db
      .update(agentSessions)
      .set({ state: "none", failureReason: null })
      .where(eq(agentSessions.userId, id));
  });

  test("chat and terminal pages explain that the container must be started first", async () => {
    await page.goto(`${server.url}/chat`);
    expect(await page.locator("#not-running").textContent()).toContain("Go to the dashboard");
    await page.goto(`${server.url}/terminal`);
    expect(await page.locator("#not-running").textContent()).toContain("Go to the dashboard");
  });

  test("account: sessions from another device (hostile user agent) listed and revoked", async () => {
    const phone = await watchedPage(browser, { userAgent: XSS, viewport: { width: 390, height: 844 } });
    await signIn(phone.page, XSS_EMAIL, PASSWORD);
    await page.goto(`${server.url}/account`);
    const rows = page.locator("#sessions-table tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await page.locator("#sessions-table tr[data-current] td").first().textContent()).toContain(
      "(this device)",
    );
    const other = page.locator("#sessions-table tbody tr:not([data-current])");
    expect(await other.textContent()).toContain(XSS.slice(0, 40));
    await expectInert(page, XSS);
    await screenshot(page, "account");

    await other.locator("button").click();
    await page.getByText("That device has been signed out.").waitFor();
    expect(await rows.count()).toBe(1);
    await phone.page.goto(`${server.url}/dashboard`);
    expect(phone.page.url()).toContain("/login");
    expect(phone.incidents.dialogs).toEqual([]);
    expect(phone.incidents.csp).toEqual([]);
    await phone.context.close();
  });

  test("account: password change needs the current one and signs out the other devices", async () => {
    const other = await watchedPage(browser);
    await signIn(other.page, XSS_EMAIL, PASSWORD);
    await page.goto(`${server.url}/account`);
    expect(await page.locator("#sessions-table tbody tr").count()).toBe(2);

    await page.fill("#current-password", "not my password at all");
    await page.fill("#new-password", NEW_PASSWORD);
    await page.click("#password-form button[type=submit]");
    await page
      .locator("#password-form [data-error-slot]")
      .getByText("The current password is incorrect.")
      .waitFor();

    await page.fill("#current-password", PASSWORD);
    await page.fill("#new-password", "1qaz2wsx3edc");
    await page.click("#password-form button[type=submit]");
    await page.locator("#password-form [data-error-slot]").getByText("too common").waitFor();

    await page.fill("#current-password", PASSWORD);
    await page.fill("#new-password", NEW_PASSWORD);
    await page.click("#password-form button[type=submit]");
    await page.getByText("Password changed. Your other devices have been signed out.").waitFor();
    // The sessions list beside it was refreshed out of band.
    await page.locator("#sessions-table tbody tr").nth(1).waitFor({ state: "detached" });
    await other.page.goto(`${server.url}/keys`);
    expect(other.page.url()).toContain("/login");
    await other.context.close();
  });

  test("without JavaScript the forms still work, and echoed input stays inert", async () => {
    const plain = await watchedPage(browser, { javaScriptEnabled: false });
    await plain.page.goto(`${server.url}/login`);
    await skipBrowserValidation(plain.page, "#login-form");
    await plain.page.fill("#login-email", XSS_EMAIL);
    await plain.page.fill("#login-password", "wrong password entirely");
    await plain.page.click("#login-form button[type=submit]");
    await plain.page.waitForURL(`${server.url}/login`);
    expect(await plain.page.locator("#login-form .alert-error").textContent()).toBe(
      "The email or password is incorrect.",
    );
    expect(await plain.page.inputValue("#login-email")).toBe(XSS_EMAIL);
    await expectInert(plain.page, "The email or password");
    await skipBrowserValidation(plain.page, "#login-form");
    await plain.page.fill("#login-password", NEW_PASSWORD);
    await plain.page.click("#login-form button[type=submit]");
    await plain.page.waitForURL(`${server.url}/dashboard`);
    await plain.page.goto(`${server.url}/keys`);
    await plain.page.selectOption("#key-provider", "google");
    await plain.page.fill("#key-value", "AIza-not-a-real-key");
    await plain.page.click("#add-key-form button[type=submit]");
    expect(await plain.page.locator("#add-key-form .alert-error").textContent()).toContain(
      "That does not look like a Google key",
    );
    expect(plain.incidents.dialogs).toEqual([]);
    await plain.context.close();
  });

  test("a form posted from another site is refused, and nothing changes", async () => {
    await page.goto(`${server.url}/keys`);
    const before = await page.locator("#keys-table tbody tr").count();
    // A page on another origin (another port) whose form posts itself to the console.
    const attackerPage = (action: string, hideOrigin: boolean) =>
      `<!doctype html>${hideOrigin ? '<meta name="referrer" content="no-referrer">' : ""}
      <form id="f" method="post" action="${server.url}${action}">
        <input name="provider" value="openai"><input name="key" value="sk-proj-attacker-key-0123456789abcdef">
      </form><script>document.getElementById("f").submit()</script>`;
    const attacker = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) => {
        const path = new URL(request.url).pathname;
        const html =
          path === "/kill"
            ? attackerPage("/dashboard/kill", false)
            : path === "/no-origin"
              ? attackerPage("/keys", true)
              : path === "/login"
                ? attackerPage("/login", false)
                : attackerPage("/keys", false);
        return new Response(html, { headers: { "content-type": "text/html" } });
      },
    });
    try {
      for (const [path, lands] of [
        ["/", "/keys"],
        ["/no-origin", "/keys"],
        ["/kill", "/dashboard/kill"],
        ["/login", "/login"],
      ] as const) {
        await page.goto(`http://127.0.0.1:${attacker.port}${path}`);
        await page.waitForURL(`${server.url}${lands}`);
        expect({ path, text: await page.locator("main").textContent() }).toMatchObject({
          path,
          text: expect.stringContaining("This form was sent from another website, so it was blocked."),
        });
        if (path === "/") await screenshot(page, "cross-site-refused");
      }
    } finally {
      attacker.stop(true);
    }
    await page.goto(`${server.url}/keys`);
    expect(await page.locator("#keys-table tbody tr").count()).toBe(before);
    expect(await page.content()).not.toContain("attacker");
    // The same request with our own origin but no CSRF token is refused too.
    const forged = await page.evaluate(async () => {
      const response = await fetch("/keys", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "provider=openai&key=sk-proj-forged-key-0123456789abcdef",
      });
      return { status: response.status, text: await response.text() };
    });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain("This page has expired");
  });

  test("admin: only administrators see it; nodes, usage and audit render, hostile values inert", async () => {
    // The first account of an install is its administrator: make this one an ordinary user first.
    await server.ctx.database.db.update(users).set({ isAdmin: false }).where(eq(users.email, XSS_EMAIL));
    await page.goto(`${server.url}/admin`);
    expect(await page.locator("main").textContent()).toContain("Only administrators can open this page.");
    expect(await page.locator('.nav a[href="/admin"]').count()).toBe(0);
    const db = server.ctx.database.db;
    await db.update(users).set({ isAdmin: true }).where(eq(users.email, XSS_EMAIL));
    const node = await addNode(db, {
      name: "node-1",
      url: "https://127.0.0.1:9",
      fingerprint: "ab".repeat(32),
    });
    await db
      .update(nodes)
      .set({ lastHealth: { error: XSS }, capacity: { cpuMillis: 4000, memoryMb: 8192, containers: 10 } })
      .where(eq(nodes.id, node.id));
    await db.execute(
      sql`insert into usage_daily (day, plan_id, spawns, active_users, container_seconds) values (current_date, 'free', 3, 2, 7200)`,
    );
    await page.goto(`${server.url}/admin`);
    expect(await page.locator('.nav a[href="/admin"]').count()).toBe(1);
    expect(await page.locator("#nodes-table").textContent()).toContain("node-1");
    expect(await page.locator("#nodes-table").textContent()).toContain("0 / 10");
    expect(await page.locator("#usage-table").textContent()).toContain("2.0");
    const audit = await page.locator("#audit-table").textContent();
    expect(audit).toContain("auth.password_changed");
    expect(audit).toContain("credential.added");
    await expectInert(page, XSS);
    await screenshot(page, "admin");
  });

  test("readable on a phone: no sideways scrolling, navigation wraps", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ["/dashboard", "/keys", "/account", "/admin"]) {
      await page.goto(`${server.url}${path}`);
      expect({ path, fits: await fitsWidth(page) }).toEqual({ path, fits: true });
    }
    await screenshot(page, "admin-phone");
    await page.goto(`${server.url}/keys`);
    await screenshot(page, "keys-phone");
    await page.goto(`${server.url}/dashboard`);
    await screenshot(page, "dashboard-phone");
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test("deleting the account needs the password and the tick, then everything is gone", async () => {
    await page.goto(`${server.url}/account`);
    await page.fill("#delete-password", "wrong password entirely");
    await page.check("#delete-confirm");
    await page.click("#delete-form button[type=submit]");
    await page.locator("#delete-form [data-error-slot]").getByText("The password is incorrect.").waitFor();
    await page.fill("#delete-password", NEW_PASSWORD);
    await Promise.all([
      page.waitForURL(/\/login\?deleted=1$/),
      page.click("#delete-form button[type=submit]"),
    ]);
    await page.getByText("Your account has been deleted.").waitFor();
    await skipBrowserValidation(page, "#login-form");
    expect(await server.ctx.database.db.select().from(users).where(eq(users.email, XSS_EMAIL))).toEqual([]);
    expect((await main.context.cookies()).filter((c) => c.name.startsWith("cf_"))).toEqual([]);
    await page.fill("#login-email", XSS_EMAIL);
    await page.fill("#login-password", NEW_PASSWORD);
    await page.click("#login-form button[type=submit]");
    await page.getByText("The email or password is incorrect.").waitFor();
  });

  test("no page broke the CSP, threw, or opened a dialog", () => {
    expect(main.incidents.csp).toEqual([]);
    expect(main.incidents.pageErrors).toEqual([]);
    expect(main.incidents.dialogs).toEqual([]);
    // The only console errors are the browser noting the 4xx answers the tests provoked.
    expect(main.incidents.consoleErrors.filter((m) => !/status of 4\d\d/.test(m))).toEqual([]);
  });
});
