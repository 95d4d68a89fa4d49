// Issue 21's polish in a real browser: HTML pages for unknown console URLs (JSON stays for /api),
// the front page, key deletion that asks first and names the key, the password rules (strength
// estimate, a new password equal to the old one), accessibility (focus ring on the dark header,
// Kill… a button, focus on the error after a failed sign-in, a compact phone header), why a device
// was signed out, the waking terminal, and no CSP violation anywhere. Admin and the API reference:
// admin_console.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { agentSessions, users } from "../../src/db/schema.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { launchBrowser, screenshot, type WatchedPage, watchedPage } from "./browser.ts";

const EMAIL = "polish@example.test";
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

/** WCAG relative luminance contrast between two `rgb(…)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r, g, bl] = (color.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (bl ?? 0);
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
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

describe("console polish (issue 21)", () => {
  test("an unknown console URL is an HTML page with a way out; /api stays JSON", async () => {
    const response = await page.goto(`${server.url}/no/such/page`);
    expect(response?.status()).toBe(404);
    expect(response?.headers()["content-type"]).toContain("text/html");
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
    expect(await page.locator("h1").textContent()).toBe("Not found");
    expect(await page.locator("main").textContent()).not.toContain("{");
    await page.locator('main a[href="/login"]').waitFor();
    await screenshot(page, "not-found");

    const api = await page.request.get(`${server.url}/api/v1/no-such-route`, {
      headers: { accept: "text/html" },
    });
    expect(api.status()).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: "not_found", message: "No such route." } });
    // A script asking for JSON on a console path gets JSON too.
    const scripted = await page.request.get(`${server.url}/no/such/page`, {
      headers: { accept: "application/json" },
    });
    expect(scripted.status()).toBe(404);
    expect((await scripted.json()).error.code).toBe("not_found");
  });

  test("the front page tells a new install that the first account becomes the administrator", async () => {
    await page.goto(server.url);
    expect(await page.locator("h1").textContent()).toContain("Your own AI assistant");
    expect(await page.locator("#first-account-note").textContent()).toContain("becomes its administrator");
    expect(await page.locator("#landing-signup").textContent()).toBe("Create the administrator account");
    await screenshot(page, "landing");
    const phone = await watchedPage(browser, { viewport: { width: 390, height: 844 } });
    await phone.page.goto(server.url);
    expect(
      await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
    ).toBe(true);
    await screenshot(phone.page, "landing-phone");
    expect(phone.incidents.csp).toEqual([]);
    await phone.context.close();
  });

  test("the first account becomes the administrator; its 404 page keeps the navigation", async () => {
    // Refused first: a guessable password off the common list, then an ordinary one.
    await page.goto(`${server.url}/signup`);
    await page.fill("#signup-email", EMAIL);
    await page.fill("#signup-password", "password123456");
    await page.click("#signup-form button[type=submit]");
    const slot = page.locator("#signup-form [data-error-slot]");
    await slot.getByText("This password would be easy to guess.").waitFor();
    expect(await slot.textContent()).toContain("similar to a commonly used password");
    await page.goto(server.url);
    await Promise.all([page.waitForURL(`${server.url}/signup`), page.click("#landing-signup")]);
    await signUp(page, EMAIL, PASSWORD);
    expect(await page.locator('.nav a[href="/admin"]').count()).toBe(1);
    // Signed in, the root is the dashboard; signed out, the front page no longer offers admin.
    await page.goto(server.url);
    expect(page.url()).toBe(`${server.url}/dashboard`);
    const visitor = await watchedPage(browser);
    await visitor.page.goto(server.url);
    expect(await visitor.page.locator("#first-account-note").count()).toBe(0);
    expect(await visitor.page.locator("#landing-signup").textContent()).toBe("Create an account");
    await visitor.context.close();
    await page.goto(`${server.url}/keys/extra/path/here`);
    expect(await page.locator("h1").textContent()).toBe("Not found");
    expect(await page.locator(".who").textContent()).toBe(EMAIL);
    await page.locator('main a[href="/dashboard"]').waitFor();
  });

  test("deleting a key asks first and names it; Cancel has the focus; keyboard only", async () => {
    await page.goto(`${server.url}/keys`);
    await page.selectOption("#key-provider", "anthropic");
    await page.fill("#key-value", "sk-ant-polish-test-key-0123456789wxyz");
    await page.click("#add-key-form button[type=submit]");
    await page.getByText("Saved your Anthropic (Claude) key (sk-ant-…wxyz).").waitFor();
    await page.selectOption("#key-provider", "anthropic");
    await page.fill("#key-value", "not a key at all");
    await page.click("#add-key-form button[type=submit]");
    await page.getByText("That does not look like an Anthropic key").waitFor();

    const deleteButton = page.locator('#keys-table tr[data-provider="anthropic"] button');
    expect(await deleteButton.textContent()).toBe("Delete…");
    await deleteButton.focus();
    await page.keyboard.press("Enter");
    const dialog = page.locator('#keys-section [role="alertdialog"]');
    await dialog.waitFor();
    expect(await dialog.locator("h3").textContent()).toBe("Delete your Anthropic (Claude) key sk-ant-…wxyz?");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-delete-key-button");
    await screenshot(page, "keys-delete-confirm");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "detached" });
    expect(await page.locator("#keys-table tbody tr").count()).toBe(1);

    await deleteButton.focus();
    await page.keyboard.press("Enter");
    await page.locator("#confirm-delete-key-button").focus();
    await page.keyboard.press("Enter");
    await page.getByText("Deleted your Anthropic (Claude) key (sk-ant-…wxyz).").waitFor();
    expect(await page.locator("#keys-table").count()).toBe(0);
  });

  test("without JavaScript the key deletion asks first too", async () => {
    const plain = await watchedPage(browser, { javaScriptEnabled: false });
    await plain.page.goto(`${server.url}/login`);
    await plain.page.fill("#login-email", EMAIL);
    await plain.page.fill("#login-password", PASSWORD);
    await plain.page.click("#login-form button[type=submit]");
    await plain.page.waitForURL(`${server.url}/dashboard`);
    await plain.page.goto(`${server.url}/keys`);
    await plain.page.selectOption("#key-provider", "openai");
    await plain.page.fill("#key-value", "sk-proj-polish-plain-key-0123456789abcd");
    await plain.page.click("#add-key-form button[type=submit]");
    await plain.page.waitForURL(`${server.url}/keys`);
    await plain.page.click('#keys-table tr[data-provider="openai"] button');
    expect(await plain.page.locator("#delete-key-confirm h3").textContent()).toBe(
      "Delete your OpenAI key sk-proj-…abcd?",
    );
    await plain.page.click("#confirm-delete-key-button");
    await plain.page.waitForURL(`${server.url}/keys`);
    expect(await plain.page.locator("#keys-table").count()).toBe(0);
    expect(plain.incidents.csp).toEqual([]);
    await plain.context.close();
  });

  test("a new password equal to the old one, or guessable, is refused", async () => {
    await page.goto(`${server.url}/account`);
    await page.fill("#current-password", PASSWORD);
    await page.fill("#new-password", PASSWORD);
    await page.click("#password-form button[type=submit]");
    const slot = page.locator("#password-form [data-error-slot]");
    await slot.getByText("The new password is the same as the current one.").waitFor();
    // The message took the focus.
    expect(await page.evaluate(() => document.activeElement?.closest("[data-error-slot]") !== null)).toBe(
      true,
    );
    await page.fill("#current-password", PASSWORD);
    await page.fill("#new-password", "polish@example.test 2026");
    await page.click("#password-form button[type=submit]");
    await slot.getByText("This password would be easy to guess.").waitFor();
    await page.fill("#current-password", PASSWORD);
    await page.fill("#new-password", NEW_PASSWORD);
    await page.click("#password-form button[type=submit]");
    await page.getByText("Password changed.").waitFor();
  });

  test("Kill… is a button that opens the confirmation from the keyboard", async () => {
    await server.ctx.database.db.execute(
      // A failed container offers Kill without needing a node.
      (await import("drizzle-orm")).sql`insert into agent_sessions (user_id, state, failure_reason)
        select id, 'failed', 'test' from users where email = ${EMAIL}
        on conflict (user_id) do update set state = 'failed'`,
    );
    await page.goto(`${server.url}/dashboard`);
    const kill = page.locator("#kill-button");
    expect(await kill.evaluate((el) => el.tagName)).toBe("BUTTON");
    await kill.focus();
    await page.keyboard.press("Enter");
    await page.locator('#container-card [role="alertdialog"]').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-kill-button");
  });

  test("the focus ring on the dark navigation is clearly visible", async () => {
    await page.goto(`${server.url}/dashboard`);
    // Tab from the skip link to the brand, then into the navigation.
    await page.locator(".skip-link").focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    const ring = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const style = getComputedStyle(el);
      const header = getComputedStyle(document.querySelector(".site-header") as Element);
      return {
        href: el.getAttribute("href"),
        outlineStyle: style.outlineStyle,
        outlineWidth: Number.parseFloat(style.outlineWidth),
        outlineColor: style.outlineColor,
        headerColor: header.backgroundColor,
      };
    });
    expect(ring.href).toBe("/dashboard");
    expect(ring.outlineStyle).toBe("solid");
    expect(ring.outlineWidth).toBeGreaterThanOrEqual(2);
    expect(contrast(ring.outlineColor, ring.headerColor)).toBeGreaterThanOrEqual(3);
    await screenshot(page, "nav-focus");
  });

  test("a failed sign-in puts the focus on the message, with and without JavaScript", async () => {
    const other = await watchedPage(browser);
    await other.page.goto(`${server.url}/login`);
    await other.page.fill("#login-email", EMAIL);
    await other.page.fill("#login-password", "wrong guess entirely");
    await other.page.keyboard.press("Enter");
    await other.page.getByText("The email or password is incorrect.").waitFor();
    expect(await other.page.evaluate(() => document.activeElement?.textContent)).toBe(
      "The email or password is incorrect.",
    );
    expect(other.incidents.csp).toEqual([]);
    await other.context.close();

    const plain = await watchedPage(browser, { javaScriptEnabled: false });
    await plain.page.goto(`${server.url}/login`);
    await plain.page.fill("#login-email", EMAIL);
    await plain.page.fill("#login-password", "wrong guess entirely");
    await plain.page.keyboard.press("Enter");
    await plain.page.waitForURL(`${server.url}/login`);
    await plain.page.locator("#login-form .alert-error").waitFor();
    expect(await plain.page.evaluate(() => document.activeElement?.classList.contains("alert"))).toBe(true);
    await plain.context.close();
  });

  test("on a 390 px phone the header is compact and every page fits", async () => {
    const phone = await watchedPage(browser, { viewport: { width: 390, height: 844 } });
    await phone.page.goto(`${server.url}/login`);
    await phone.page.fill("#login-email", EMAIL);
    await phone.page.fill("#login-password", NEW_PASSWORD);
    await Promise.all([
      phone.page.waitForURL(`${server.url}/dashboard`),
      phone.page.click("#login-form button[type=submit]"),
    ]);
    for (const path of ["/dashboard", "/keys", "/account", "/admin", "/nowhere"]) {
      await phone.page.goto(`${server.url}${path}`);
      const box = await phone.page.locator(".site-header").boundingBox();
      const fits = await phone.page.evaluate(
        () => document.documentElement.scrollWidth <= window.innerWidth + 1,
      );
      expect({ path, fits, compact: (box?.height ?? 999) <= 844 / 8 }).toEqual({
        path,
        fits: true,
        compact: true,
      });
    }
    // Every navigation link is reachable (the row scrolls sideways inside the header).
    await phone.page.locator('.nav a[href="/admin"]').scrollIntoViewIfNeeded();
    expect(await phone.page.locator('.nav a[href="/admin"]').isVisible()).toBe(true);
    await phone.page.goto(`${server.url}/dashboard`);
    await screenshot(phone.page, "dashboard-phone");
    expect(phone.incidents.csp).toEqual([]);
    await phone.context.close();
  });

  test("on a desktop a long address is cut, and Sign out stays on the header's one row", async () => {
    const wide = await watchedPage(browser, { viewport: { width: 1280, height: 800 } });
    const email = "a-rather-long-address-for-the-header@subdomain.example.test";
    await signUp(wide.page, email, PASSWORD);
    // An administrator has the longest navigation.
    await server.ctx.database.db.update(users).set({ isAdmin: true }).where(eq(users.email, email));
    await wide.page.goto(`${server.url}/dashboard`);
    expect(await wide.page.locator('.nav a[href="/admin"]').count()).toBe(1);
    const row = async (selector: string) => {
      const box = await wide.page.locator(selector).boundingBox();
      return box ? { top: box.y, bottom: box.y + box.height } : null;
    };
    const brand = await row(".site-header .brand");
    const signOut = await row(".site-header .signout button");
    if (!brand || !signOut) throw new Error("the header has no brand or sign-out button");
    // On one row: each one's vertical middle lies within the other's height.
    const middle = (signOut.top + signOut.bottom) / 2;
    expect(middle > brand.top - 8 && middle < brand.bottom + 8).toBe(true);
    expect(await wide.page.locator(".site-header .who").getAttribute("title")).toBe(email);
    expect(wide.incidents.csp).toEqual([]);
    await wide.context.close();
  });

  test("a device signed out elsewhere is told why on the sign-in page", async () => {
    const other = await watchedPage(browser, { userAgent: "PolishTestDevice/1.0" });
    await other.page.goto(`${server.url}/login`);
    await other.page.fill("#login-email", EMAIL);
    await other.page.fill("#login-password", NEW_PASSWORD);
    await Promise.all([
      other.page.waitForURL(`${server.url}/dashboard`),
      other.page.click("#login-form button[type=submit]"),
    ]);
    await page.goto(`${server.url}/account`);
    await page.locator('#sessions-table tr:has([title="PolishTestDevice/1.0"]) button').click();
    await page.getByText("That device has been signed out.").waitFor();
    await other.page.goto(`${server.url}/keys`);
    expect(other.page.url()).toBe(`${server.url}/login?next=%2Fkeys&ended=elsewhere`);
    expect(await other.page.locator("main .alert").first().textContent()).toBe(
      "You were signed out from another device. Sign in again to continue.",
    );
    await screenshot(other.page, "login-signed-out-elsewhere");
    // An unknown code in the link shows nothing.
    await other.page.goto(`${server.url}/login?ended=%3Cscript%3E`);
    expect(await other.page.locator("main .alert").count()).toBe(0);
    expect(other.incidents.csp).toEqual([]);
    await other.context.close();
  });

  test("the terminal and the chat say they are waking a frozen container", async () => {
    const db = server.ctx.database.db;
    const [me] = await db.select().from(users).where(eq(users.email, EMAIL));
    await db
      .update(agentSessions)
      .set({ state: "frozen" })
      .where(eq(agentSessions.userId, me?.id ?? ""));
    const plain = await watchedPage(browser, { javaScriptEnabled: false });
    await plain.page.goto(`${server.url}/login`);
    await plain.page.fill("#login-email", EMAIL);
    await plain.page.fill("#login-password", NEW_PASSWORD);
    await plain.page.click("#login-form button[type=submit]");
    await plain.page.waitForURL(`${server.url}/dashboard`);
    await plain.page.goto(`${server.url}/terminal`);
    expect(await plain.page.locator("#terminal-status").textContent()).toBe("Waking your container…");
    // The chat says it too.
    await plain.page.goto(`${server.url}/chat`);
    expect((await plain.page.locator("#chat-status").textContent())?.trim()).toBe("Waking your container…");
    await plain.context.close();
    // The dashboard's live card polls; with no node to ask it says so, and the start time is relative.
    await page.goto(`${server.url}/dashboard`);
    await page.locator('#live-badge[data-live="frozen"]').waitFor();
    expect(await page.locator("#live-updated").textContent()).toContain("frozen");
    const since = page.locator("#container-card time[data-relative]");
    expect(await since.textContent()).toMatch(/just now|ago/);
    expect(await since.getAttribute("title")).toMatch(/UTC$/);
    // The terminal's full screen switch works from the keyboard, whatever the socket is doing. (A
    // page of its own: this frozen container has no node, so the socket's handshake fails, which
    // the browser logs as an error.)
    const term = await watchedPage(browser);
    await term.page.goto(`${server.url}/login`);
    await term.page.fill("#login-email", EMAIL);
    await term.page.fill("#login-password", NEW_PASSWORD);
    await Promise.all([
      term.page.waitForURL(`${server.url}/dashboard`),
      term.page.click("#login-form button[type=submit]"),
    ]);
    await term.page.goto(`${server.url}/terminal`);
    expect(await term.page.locator("#terminal-status").textContent()).toMatch(
      /Waking your container|Reconnecting/,
    );
    await term.page.locator("#terminal-fullscreen").focus();
    await term.page.keyboard.press("Enter");
    await term.page.locator('#terminal-fullscreen[aria-pressed="true"]').waitFor();
    expect(await term.page.evaluate(() => document.fullscreenElement?.id)).toBe("terminal-wrap");
    // Entering full screen hands the focus to the terminal, to type in; then back to the button.
    await term.page.waitForFunction(() => document.activeElement?.closest("#terminal") !== null);
    await term.page.locator("#terminal-fullscreen").focus();
    await term.page.keyboard.press("Enter");
    await term.page.locator('#terminal-fullscreen[aria-pressed="false"]').waitFor();
    expect(term.incidents.csp).toEqual([]);
    expect(term.incidents.pageErrors).toEqual([]);
    await term.context.close();
    await db
      .update(agentSessions)
      .set({ state: "failed" })
      .where(eq(agentSessions.userId, me?.id ?? ""));
  });

  test("no page broke the CSP, threw, or opened a dialog", () => {
    expect(main.incidents.csp).toEqual([]);
    expect(main.incidents.pageErrors).toEqual([]);
    expect(main.incidents.dialogs).toEqual([]);
    expect(main.incidents.consoleErrors.filter((m) => !/status of 4\d\d/.test(m))).toEqual([]);
  });
});
