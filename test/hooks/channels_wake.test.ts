// Channels end to end, on both database drivers, against the stack of ./channels_stack.ts (server
// with a public URL, agent, the runtime image, and fakes of the provider, Telegram, Slack and
// WhatsApp in a network namespace, delivering webhooks to the public URL). Channels are connected through the API; each platform's
// message to a frozen container wakes it through /hooks and is answered. Falling back to polling
// keeps the container from the idle freeze. No credential reaches the database or the logs.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { DEFAULT_BLOCKED, installFirewall } from "../../agent/firewall.ts";
import { rowsOf } from "../../src/db/client.ts";
import { launchBrowser, screenshot, watchedPage } from "../console/browser.ts";
import type { FakeSlack } from "../fakes/slack.ts";
import type { FakeTelegramWebhook } from "../fakes/telegram_webhook.ts";
import type { FakeWhatsApp } from "../fakes/whatsapp.ts";
import { DRIVERS } from "../helpers/db.ts";
import { TEST_EGRESS_ALLOW } from "../helpers/fleet.ts";
import type { Netns } from "../helpers/netns.ts";
import { json, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { GatewayClient } from "../runtime/gateway_client.ts";
import { type ChannelsStack, startChannelsStack } from "./channels_stack.ts";

const PASSWORD = "correct horse battery staple";
const random = () => crypto.randomUUID().replaceAll("-", "");

for (const driver of DRIVERS) {
  describe(`channels by webhook, end to end [${driver}]`, () => {
    const BOT = `${1000 + Math.floor(Math.random() * 9e8)}:AAH${random()}`;
    const SLACK = {
      botToken: `xoxb-${random()}`,
      signingSecret: random(),
      team: "E2E Team",
      botUserId: "U0BOT",
    };
    const WA = {
      phoneNumberId: "1065550002",
      accessToken: `EAAG${random()}${random()}`,
      appSecret: random(),
      display: "+1 555 0002",
    };
    const VERIFY_TOKEN = `verify-${random()}`;
    const OPENAI_KEY = `sk-proj-channels-${random()}`;
    const credentials = [
      BOT,
      SLACK.botToken,
      SLACK.signingSecret,
      WA.accessToken,
      WA.appSecret,
      VERIFY_TOKEN,
      OPENAI_KEY,
    ];
    const EMAIL = `channels-${driver}@example.test`;
    let stack: ChannelsStack;
    let server: TestServer;
    let netns: Netns;
    let telegram: FakeTelegramWebhook;
    let slack: FakeSlack;
    let whatsapp: FakeWhatsApp;
    let agentLogs: string[] = [];
    let token = "";
    const api = (path: string, init: RequestInit = {}) => stack.api(path, init);
    const state = () => stack.state();
    const freeze = async () => {
      expect((await api("/session/freeze", { method: "POST" })).status).toBe(202);
      await waitFor("frozen", state, (s) => s === "frozen", 30_000);
    };
    const channel = (view: any, name: string) =>
      (view.channels as { channel: string }[]).find((c) => c.channel === name) as Record<string, unknown>;
    const hookUrls = { slack: "", whatsapp: "" };

    beforeAll(async () => {
      stack = await startChannelsStack(driver, { email: EMAIL, password: PASSWORD, openaiKey: OPENAI_KEY });
      ({ server, netns, telegram, slack, whatsapp, agentLogs, token } = stack);
      await telegram.addBot(BOT, "e2e_bot");
      await slack.addApp(SLACK);
      await whatsapp.addNumber(WA);
    }, 240_000);

    // The iptables chains are shared by every agent on this host, and another checkout's agent may
    // replace them: put back this test's (the fakes' range open, as agentEnv asks) before each test.
    beforeEach(() => installFirewall(DEFAULT_BLOCKED, undefined, undefined, undefined, [TEST_EGRESS_ALLOW]));

    afterAll(async () => {
      await stack?.stop();
    });

    test("bad input is refused with a clear 4xx before the container is asked", async () => {
      const unknown = await api("/channels/irc", { method: "PUT", body: "{}" });
      expect(unknown.status).toBe(404);
      const extra = await api("/channels/telegram", {
        method: "PUT",
        body: JSON.stringify({ bot_token: BOT, password: "x" }),
      });
      expect(extra.status).toBe(400);
      expect((await json(extra)).error.code).toBe("invalid_request");
      const rejected = await api("/channels/telegram", {
        method: "PUT",
        body: JSON.stringify({ bot_token: `${BOT.split(":")[0]}:AAH${random()}` }),
      });
      expect(rejected.status).toBe(422);
      // A refused connect changes nothing on the platform either: no hook secret was made for it.
      expect((await json(await api("/session/hook"))).configured).toBe(false);
      expect(JSON.stringify(await json(rejected))).not.toContain(BOT);
    }, 60_000);

    test("connecting the three channels registers Telegram's webhook and shows the URLs for Slack and Meta", async () => {
      const tg = await api("/channels/telegram", {
        method: "PUT",
        body: JSON.stringify({ bot_token: BOT, allowed_chat_ids: [4242] }),
      });
      expect(tg.status).toBe(200);
      const tgView = await json(tg);
      expect(tgView.webhook_configured).toBe(true);
      expect(channel(tgView, "telegram")).toMatchObject({
        configured: true,
        mode: "webhook",
        bot_username: "e2e_bot",
      });
      const registered = await waitFor(
        "webhook",
        () => telegram.webhook(BOT),
        (w) => w !== null,
        15_000,
      );
      expect(registered?.url).toStartWith(`http://${netns.hostAddress}:`);
      expect(registered?.url).toMatch(/\/hooks\/[a-z0-9]{12}\/[A-Za-z0-9_-]{43}\/telegram$/);

      const sl = await json(
        await api("/channels/slack", {
          method: "PUT",
          body: JSON.stringify({
            bot_token: SLACK.botToken,
            signing_secret: SLACK.signingSecret,
            allowed_user_ids: ["U0OWNER"],
          }),
        }),
      );
      hookUrls.slack = channel(sl, "slack").webhook_url as string;
      const wa = await json(
        await api("/channels/whatsapp", {
          method: "PUT",
          body: JSON.stringify({
            phone_number_id: WA.phoneNumberId,
            access_token: WA.accessToken,
            app_secret: WA.appSecret,
            verify_token: VERIFY_TOKEN,
            allowed_numbers: ["15550100"],
          }),
        }),
      );
      hookUrls.whatsapp = channel(wa, "whatsapp").webhook_url as string;
      expect(channel(wa, "whatsapp")).toMatchObject({ mode: "webhook", display_phone_number: WA.display });
      // One hook address for all three: connecting Slack and WhatsApp did not rotate Telegram's.
      expect(hookUrls.slack).toBe(String(registered?.url).replace(/telegram$/, "slack"));
      expect(hookUrls.whatsapp).toBe(String(registered?.url).replace(/telegram$/, "whatsapp"));
      const verified = await slack.verifyUrl(SLACK.botToken, hookUrls.slack);
      expect(verified.status).toBe(200);
      expect(JSON.parse(verified.body)).toEqual({ challenge: verified.challenge });
      const handshake = await whatsapp.verify(WA.phoneNumberId, hookUrls.whatsapp, VERIFY_TOKEN);
      expect(handshake).toMatchObject({ status: 200, body: handshake.challenge });
      expect((await whatsapp.verify(WA.phoneNumberId, hookUrls.whatsapp, "wrong-verify-token")).status).toBe(
        403,
      );
      const listed = await json(await api("/channels"));
      expect(listed.keeps_awake).toBe(false);
      for (const secret of credentials) expect(JSON.stringify(listed)).not.toContain(secret);
    }, 90_000);

    test("a Telegram message to a frozen container wakes it and is answered", async () => {
      await freeze();
      const delivered = await telegram.userSays(BOT, 4242, "wake up, telegram");
      expect(delivered.status).toBe(200);
      expect(await state()).toBe("running");
      expect((await telegram.waitForSent(BOT, 1, 30_000))[0]).toEqual({
        chat_id: 4242,
        text: "You said: wake up, telegram",
      });
      const forged = await telegram.userSays(BOT, 4242, "forged", "not-the-secret-token");
      expect(forged.status).toBe(401);
    }, 120_000);

    test("a Slack message to a frozen container wakes it and is answered", async () => {
      await freeze();
      const delivered = await slack.userSays(SLACK.botToken, hookUrls.slack, {
        user: "U0OWNER",
        channel: "D0E2E",
        text: "wake up, slack",
      });
      expect(delivered.status).toBe(200);
      expect((await slack.waitForPosted(SLACK.botToken, 1, 30_000))[0]).toEqual({
        channel: "D0E2E",
        text: "You said: wake up, slack",
      });
    }, 120_000);

    test("a WhatsApp message to a frozen container wakes it and is answered", async () => {
      await freeze();
      const delivered = await whatsapp.userSays(
        WA.phoneNumberId,
        hookUrls.whatsapp,
        "15550100",
        "wake up, whatsapp",
      );
      expect(delivered.status).toBe(200);
      expect((await whatsapp.waitForSent(WA.phoneNumberId, 1, 30_000))[0]).toEqual({
        to: "15550100",
        text: "You said: wake up, whatsapp",
      });
    }, 120_000);

    test("rotating the hook secret moves the channels to the new address; the old one stops working", async () => {
      const old = hookUrls.slack;
      const rotated = await json(await api("/session/hook/rotate", { method: "POST" }));
      const moved = await waitFor(
        "telegram moved",
        () => telegram.webhook(BOT),
        (w) => w?.url.includes(rotated.secret) ?? false,
        30_000,
      ).catch((error) => {
        // What the server says about the move, to tell a slow container from a failed one.
        throw new Error(
          `${error}; server: ${server.logs.filter((l) => l.includes("hook address")).join(" | ")}`,
        );
      });
      expect(moved?.url).toBe(`${rotated.url}/telegram`);
      hookUrls.slack = `${rotated.url}/slack`;
      hookUrls.whatsapp = `${rotated.url}/whatsapp`;
      expect((await slack.verifyUrl(SLACK.botToken, old)).status).toBe(404);
      expect((await slack.verifyUrl(SLACK.botToken, hookUrls.slack)).status).toBe(200);
      expect(channel(await json(await api("/channels")), "whatsapp").webhook_url).toBe(hookUrls.whatsapp);
      expect((await telegram.userSays(BOT, 4242, "after rotation")).status).toBe(200);
      expect((await telegram.waitForSent(BOT, 2, 30_000))[1]?.text).toBe("You said: after rotation");
    }, 90_000);

    test("webhook channels let the idle freeze happen; a polling Telegram keeps the container awake", async () => {
      const idle = async () => {
        await server.ctx.database.db.execute(
          sql`update agent_sessions set last_activity_at = now() - interval '30 days'`,
        );
        await server.reconcile();
      };
      await idle();
      expect(await state()).toBe("frozen");
      expect((await api("/session/restore", { method: "POST" })).status).toBe(202);
      await waitFor("running", state, (s) => s === "running", 30_000);
      // The runtime without the platform's address (as on a server with no public URL) polls.
      const client = await GatewayClient.connect(
        `${server.url.replace(/^http/, "ws")}/api/v1/session/gateway`,
        token,
      );
      const moved = await client.request({ type: "channel.webhook", webhook_base: "" });
      expect(moved).toMatchObject({ keeps_awake: true, webhook_configured: false });
      client.close();
      await waitFor(
        "webhook removed",
        () => telegram.webhook(BOT),
        (w) => w === null,
        15_000,
      );
      const view = await json(await api("/channels"));
      expect(view).toMatchObject({ keeps_awake: true, webhook_configured: false });
      await idle();
      expect(await state()).toBe("running");
      // Disconnecting Telegram lifts the mark: the next idle check freezes.
      expect((await api("/channels/telegram", { method: "DELETE" })).status).toBe(204);
      await idle();
      expect(await state()).toBe("frozen");
    }, 120_000);

    test("the console page: status, allowed chats, connect and disconnect, in Chromium without CSP violations", async () => {
      if (driver !== "pglite") return; // One browser run is enough; the database is the API's business.
      const browser = await launchBrowser();
      try {
        const { page, incidents } = await watchedPage(browser);
        // The console as its users reach it: at the public URL (CSRF checks expect that origin).
        const site = stack.site;
        await page.goto(`${site}/login`);
        await page.fill("#login-email", EMAIL);
        await page.fill("#login-password", PASSWORD);
        await Promise.all([
          page.waitForURL(`${site}/dashboard`),
          page.click("#login-form button[type=submit]"),
        ]);
        // The container is frozen (the idle freeze above): opening the page resumes it.
        await page.goto(`${site}/channels`);
        await page.locator("#channel-telegram").waitFor();
        expect(await page.locator("#channel-telegram").getAttribute("data-configured")).toBe("false");
        // The polling test above took the hook address away: Slack cannot receive, and says so.
        expect(await page.locator("#channel-slack").getAttribute("data-status")).toBe("error");
        expect(await page.locator("#channel-slack .channel-detail").textContent()).toContain("public URL");
        expect(await page.locator("#channel-slack-allowed_user_ids").inputValue()).toBe("U0OWNER");

        await page.fill("#channel-telegram-bot_token", BOT);
        await page.fill("#channel-telegram-allowed_chat_ids", "4242, 777");
        await page.click("#channel-telegram-form button[type=submit]");
        // Saved, or the form's error slot says why not (so a failure names its cause).
        await page
          .locator("#channels-section .alert-success, #channel-telegram-form .alert-error")
          .first()
          .waitFor({ timeout: 45_000 });
        expect(await page.locator("#channel-telegram-form .alert-error").count()).toBe(0);
        await page.getByText("Telegram saved.").waitFor();
        await page
          .locator('#channel-telegram[data-status="webhook"]')
          .waitFor({ timeout: 15_000 })
          .catch(async () => {
            await page.reload();
            await page.locator('#channel-telegram[data-status="webhook"]').waitFor({ timeout: 15_000 });
          });
        expect(await page.locator("#channel-telegram-allowed_chat_ids").inputValue()).toBe("4242, 777");
        // Connecting gave the container a new hook address: Slack takes events again.
        expect(await page.locator("#channel-slack").getAttribute("data-status")).toBe("webhook");
        expect(await page.locator("#channel-slack-url").inputValue()).toMatch(
          /\/hooks\/[a-z0-9]{12}\/[A-Za-z0-9_-]{43}\/slack$/,
        );
        expect(await page.locator("#channel-telegram").textContent()).toContain("@e2e_bot");
        expect((await telegram.webhook(BOT))?.url).toMatch(/\/telegram$/);
        expect(await page.content()).not.toContain(BOT);
        await screenshot(page, "channels");

        await page.fill("#channel-slack-bot_token", `xoxb-${random()}`);
        await page.click("#channel-slack-form button[type=submit]");
        await page.locator("#channel-slack-form .alert-error").waitFor();
        expect(await page.locator("#channel-slack-form .alert-error").textContent()).toContain(
          "Slack rejected the bot token",
        );

        await page.click("#channel-whatsapp-disconnect");
        await page.getByText("WhatsApp disconnected.").waitFor();
        expect(await page.locator("#channel-whatsapp").getAttribute("data-configured")).toBe("false");
        expect(
          (await json(await api("/channels"))).channels.find(
            (c: { channel: string }) => c.channel === "whatsapp",
          ).configured,
        ).toBe(false);
        expect(incidents.csp).toEqual([]);
        expect(incidents.pageErrors).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 120_000);

    test("no credential is in the database (every table dumped) or in any log line", async () => {
      const db = server.ctx.database.db;
      const tables = rowsOf<{ tablename: string }>(
        await db.execute(sql`select tablename from pg_tables where schemaname = 'public'`),
      );
      expect(tables.length).toBeGreaterThan(5);
      let dump = "";
      for (const { tablename } of tables) {
        dump += JSON.stringify(rowsOf(await db.execute(sql.raw(`select * from "${tablename}"`))));
      }
      expect(dump).toContain("channel.connect");
      const logs = [...server.logs, ...agentLogs].join("\n");
      expect(logs).toContain("webhook relayed");
      for (const secret of [...credentials, BOT.split(":")[1] as string]) {
        expect(dump).not.toContain(secret);
        expect(logs).not.toContain(secret);
      }
      // The hook secret is stored only as its hash, and logged nowhere.
      const hookSecret = hookUrls.slack.split("/").at(-2) as string;
      expect(dump).not.toContain(hookSecret);
      expect(logs).not.toContain(hookSecret);
    }, 60_000);
  });
}
