// Debian's chromium driven by playwright-core, for the console's end-to-end tests: one browser per
// test file, pages that record every CSP violation, console error and dialog, and screenshots into
// test-output/screenshots/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from "playwright-core";

export const SCREENSHOTS = join(import.meta.dir, "../../test-output/screenshots");

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CLAWFLEET_TEST_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Everything a page did that a test must be able to assert never happened. */
export type Incidents = { csp: string[]; consoleErrors: string[]; dialogs: string[]; pageErrors: string[] };

export type WatchedPage = { page: Page; context: BrowserContext; incidents: Incidents };

export async function watchedPage(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  const incidents: Incidents = { csp: [], consoleErrors: [], dialogs: [], pageErrors: [] };
  // Runs before any page script; reports CSP violations through the console, which we collect.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      const where = event.sourceFile ? ` at ${event.sourceFile}:${event.lineNumber}` : "";
      const what =
        event.target instanceof Element
          ? ` on <${event.target.tagName.toLowerCase()} id="${event.target.id}">`
          : "";
      console.error(
        `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}${what}${where} (${location.pathname})`,
      );
    });
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    if (/CSP violation|Content Security Policy/i.test(text)) incidents.csp.push(text);
    else incidents.consoleErrors.push(text);
  });
  page.on("pageerror", (error) => incidents.pageErrors.push(String(error)));
  page.on("dialog", async (dialog) => {
    incidents.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  return { page, context, incidents };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // caret "initial": hiding the caret leaves style="" on the focused input, which htmx would copy
  // onto a swapped-in twin (a CSP violation the page itself never causes).
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, caret: "initial" });
}

/** True when the page needs no sideways scrolling at its current viewport width. */
export function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}
