// Issue 21 reported CSP inline-style violations on key save and password change. This walks both
// flows as a person would, on a desktop and a 390 px phone, with the keyboard and the mouse, slow
// answers (so htmx's request classes and indicators are on screen), refused input, htmx swaps and
// out-of-band swaps, and fails on any CSP violation and on any style attribute appearing in the page.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { launchBrowser, type WatchedPage, watchedPage } from "./browser.ts";

const PASSWORD = "lantern quarry whistle 58";
const NEXT = "harbour violet tandem 17";

let server: TestServer;
let browser: Browser;

/** Records every element that gains a style attribute (the CSP refuses them; a script might not know). */
async function watchStyles(p: Page) {
  await p.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { styled: string[] }).styled = seen;
    const note = (el: Element) => {
      if (el.hasAttribute("style"))
        seen.push(`<${el.tagName.toLowerCase()} id="${el.id}" style="${el.getAttribute("style")}">`);
    };
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === "attributes" && r.target instanceof Element) note(r.target);
        for (const node of r.addedNodes)
          if (node instanceof Element) {
            note(node);
            node.querySelectorAll("[style]").forEach(note);
          }
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["style"] });
  });
}

const styled = (p: Page) => p.evaluate(() => (window as unknown as { styled: string[] }).styled);

/** Every console POST answers after 400 ms, so requests stay in flight long enough to be seen. */
async function slowPosts(p: Page) {
  await p.route("**/*", async (route) => {
    if (route.request().method() === "POST") await Bun.sleep(400);
    await route.continue();
  });
}

beforeAll(async () => {
  server = await startTestServer("pglite");
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

for (const viewport of [
  { name: "desktop", width: 1280, height: 860 },
  { name: "phone", width: 390, height: 844 },
]) {
  describe(`key save and password change on a ${viewport.name}`, () => {
    let w: WatchedPage;
    let page: Page;
    const email = `csp-${viewport.name}@example.test`;

    beforeAll(async () => {
      w = await watchedPage(browser, { viewport: { width: viewport.width, height: viewport.height } });
      page = w.page;
      await watchStyles(page);
      await slowPosts(page);
      await page.goto(`${server.url}/signup`);
      await page.fill("#signup-email", email);
      await page.fill("#signup-password", PASSWORD);
      await Promise.all([
        page.waitForURL(`${server.url}/dashboard`),
        page.click("#signup-form button[type=submit]"),
      ]);
    });

    afterAll(() => w?.context.close());

    test("saving keys: refused, saved, replaced, deleted; no style anywhere", async () => {
      await page.goto(`${server.url}/keys`);
      // Refused: too short, typed and sent with Enter.
      await page.selectOption("#key-provider", "anthropic");
      await page.focus("#key-value");
      await page.keyboard.type("sk-ant-short");
      await page.keyboard.press("Enter");
      await page.locator("#add-key-form [data-error-slot] .alert").waitFor();
      // Saved, with a double click while the first request is in flight.
      await page.fill("#key-value", `sk-ant-api03-${"a".repeat(40)}`);
      await page.dblclick("#add-key-form button[type=submit]");
      await page.getByText("Saved your Anthropic").waitFor();
      // Replaced, then another provider.
      await page.fill("#key-value", `sk-ant-api03-${"b".repeat(40)}`);
      await page.click("#add-key-form button[type=submit]");
      await page.getByText("Replaced your Anthropic").waitFor();
      await page.selectOption("#key-provider", "openai");
      await page.fill("#key-value", `sk-proj-${"c".repeat(40)}`);
      await page.click("#add-key-form button[type=submit]");
      await page.locator('#keys-table tr[data-provider="openai"]').waitFor();
      // Deleted: asked first, cancelled, asked again, confirmed.
      await page.locator('#keys-table tr[data-provider="openai"] button').click();
      await page.locator("#cancel-delete-key-button").click();
      await page.locator('#keys-table tr[data-provider="openai"] button').click();
      await page.locator("#confirm-delete-key-button").click();
      await page.locator('#keys-table tr[data-provider="openai"]').waitFor({ state: "detached" });
      expect(w.incidents.csp).toEqual([]);
      expect(await styled(page)).toEqual([]);
    });

    test("changing the password: wrong, same, guessable, then accepted; no style anywhere", async () => {
      await page.goto(`${server.url}/account`);
      const slot = page.locator("#password-form [data-error-slot]");
      const attempt = async (current: string, next: string) => {
        await page.fill("#current-password", current);
        await page.fill("#new-password", next);
        await page.keyboard.press("Enter");
      };
      await attempt("not my password at all", NEXT);
      await slot.locator(".alert").waitFor();
      await attempt(PASSWORD, PASSWORD);
      await slot.getByText("The new password is the same as the current one.").waitFor();
      await attempt(PASSWORD, "password123456");
      await slot.getByText("This password would be easy to guess.").waitFor();
      await attempt(PASSWORD, NEXT);
      await page.locator("#password-section .alert-success").waitFor();
      expect(w.incidents.csp).toEqual([]);
      expect(w.incidents.pageErrors).toEqual([]);
      expect(await styled(page)).toEqual([]);
    });
  });
}
