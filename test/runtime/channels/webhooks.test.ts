// Channels by webhook, in the runtime: Telegram (setWebhook with a secret_token, the header checked),
// Slack (Events API, signed, 5-minute window) and WhatsApp (verification GET, X-Hub-Signature-256),
// each against its local fake, which delivers to a stand-in for the platform's hook route
// (`/hooks/<slug>/<secret>/<channel>` → the runtime's `/hooks/<channel>`). Without the platform's
// address, Telegram falls back to polling and the runtime reports that it must stay awake.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Runtime, startRuntime } from "../../../runtime/app.ts";
import { loadRuntimeConfig } from "../../../runtime/config.ts";
import { startFakeProvider } from "../../fakes/provider.ts";
import { startFakeSlack } from "../../fakes/slack.ts";
import { startFakeTelegramWebhook } from "../../fakes/telegram_webhook.ts";
import { startFakeWhatsApp } from "../../fakes/whatsapp.ts";
import { freePort, tempDir } from "../../helpers/process.ts";
import { GatewayClient } from "../gateway_client.ts";

const provider = startFakeProvider();
const telegram = startFakeTelegramWebhook();
const slack = startFakeSlack();
const whatsapp = startFakeWhatsApp();
const GATEWAY_TOKEN = `gateway-token-${crypto.randomUUID()}`;
const random = () => crypto.randomUUID().replaceAll("-", "");
const BOT = `${1000 + Math.floor(Math.random() * 9e8)}:AAH${random()}`;
const SLACK = {
  botToken: `xoxb-${random()}`,
  signingSecret: random(),
  team: "Fake Team",
  botUserId: "U0BOT",
};
const WA = {
  phoneNumberId: "1065550001",
  accessToken: `EAAG${random()}${random()}`,
  appSecret: random(),
  display: "+1 555 0001",
};
const VERIFY_TOKEN = `verify-${random()}`;
const SLUG = "abcdefghij12";
const HOOK_SECRET = `${random()}${random()}`.slice(0, 43);
const dataDir = tempDir("cf-runtime-webhooks");
const logs: string[] = [];
let runtime: Runtime;
let client: GatewayClient;
let hookRoute: ReturnType<typeof Bun.serve>;
let base = "";

const hookUrl = (channel: string) => `${base}/${channel}`;
/** Telegram's webhook is registered (or removed) right after the connector starts, not before the answer. */
async function waitForWebhook(done: (w: { url: string } | null) => boolean) {
  const deadline = Date.now() + 5000;
  while (!done(await telegram.webhook(BOT)) && Date.now() < deadline) await Bun.sleep(25);
}
const turns = async () => (await provider.requests()).length;

beforeAll(async () => {
  const port = await freePort();
  // The platform's hook route, reduced to what the runtime sees: the secret checked, the rest relayed.
  hookRoute = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const prefix = `/hooks/${SLUG}/${HOOK_SECRET}/`;
      if (!url.pathname.startsWith(prefix)) return new Response("no such hook", { status: 404 });
      return fetch(`http://127.0.0.1:${port}/hooks/${url.pathname.slice(prefix.length)}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body: request.method === "GET" ? undefined : await request.text(),
      });
    },
  });
  base = `http://127.0.0.1:${hookRoute.port}/hooks/${SLUG}/${HOOK_SECRET}`;
  await telegram.addBot(BOT, "webhook_bot");
  await slack.addApp(SLACK);
  await whatsapp.addNumber(WA);
  runtime = await startRuntime(
    loadRuntimeConfig({
      HOST: "127.0.0.1",
      PORT: String(port),
      CLAWFLEET_DATA_DIR: dataDir,
      CLAWFLEET_GATEWAY_TOKEN: GATEWAY_TOKEN,
      OPENAI_API_KEY: `openai-key-${random()}`,
      CLAWFLEET_OPENAI_BASE_URL: provider.openaiBaseUrl,
      CLAWFLEET_TELEGRAM_API_BASE: telegram.url,
      CLAWFLEET_TELEGRAM_POLL_TIMEOUT: "1",
      CLAWFLEET_SLACK_API_BASE: slack.apiBase,
      CLAWFLEET_WHATSAPP_API_BASE: whatsapp.apiBase,
    }),
    { logSink: (line) => logs.push(line) },
  );
  client = await GatewayClient.connect(`ws://127.0.0.1:${port}/gateway`, GATEWAY_TOKEN);
});

afterAll(async () => {
  client?.close();
  await runtime?.stop();
  hookRoute?.stop(true);
  await Promise.all([telegram.stop(), slack.stop(), whatsapp.stop(), provider.stop()]);
  rmSync(dataDir, { recursive: true, force: true });
});

describe("Telegram by webhook", () => {
  test("a bad webhook address is refused, in channel.webhook and in channel.set, and nothing changes", async () => {
    const bad = await client.request({ type: "channel.webhook", webhook_base: "ftp://x/hooks/a/b" });
    expect(bad.error).toMatchObject({ code: "bad_request" });
    const misplaced = await client.request({
      type: "channel.set",
      channel: "telegram",
      bot_token: BOT,
      webhook_base: base,
    });
    expect(misplaced.error).toMatchObject({ code: "bad_request" });
    expect(await client.request({ type: "channel.list" })).toMatchObject({ webhook_configured: false });
    expect(await client.request({ type: "channel.get", channel: "telegram" })).toMatchObject({
      configured: false,
    });
  });

  test("with the platform's address the bot registers a webhook with a secret token", async () => {
    expect(await client.request({ type: "channel.webhook", webhook_base: base })).toMatchObject({
      type: "channels",
      webhook_configured: true,
    });
    const set = await client.request({
      type: "channel.set",
      channel: "telegram",
      bot_token: BOT,
      allowed_chat_ids: [4242],
    });
    expect(set).toMatchObject({
      configured: true,
      enabled: true,
      mode: "webhook",
      bot_username: "webhook_bot",
    });
    await waitForWebhook((w) => w !== null);
    const registered = await telegram.webhook(BOT);
    expect(registered?.url).toBe(hookUrl("telegram"));
    expect(registered?.secret_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await client.request({ type: "channel.get", channel: "telegram" })).status).toBe("webhook");
    const list = await client.request({ type: "channel.list" });
    expect(list).toMatchObject({ keeps_awake: false, webhook_configured: true });
    expect(JSON.stringify(list)).not.toContain(BOT);
    expect(JSON.stringify(list)).not.toContain(registered?.secret_token);
  });

  test("an update from an allowed chat is answered; a wrong secret token is refused", async () => {
    const before = await turns();
    const delivered = await telegram.userSays(BOT, 4242, "hello by webhook");
    expect(delivered.status).toBe(200);
    const sent = await telegram.waitForSent(BOT, 1);
    expect(sent[0]).toEqual({ chat_id: 4242, text: "You said: hello by webhook" });
    expect(await turns()).toBe(before + 1);
    const forged = await telegram.userSays(BOT, 4242, "forged", "not-the-secret-token");
    expect(forged.status).toBe(401);
    await Bun.sleep(200);
    expect(await telegram.sent(BOT)).toHaveLength(1);
    expect(await turns()).toBe(before + 1);
  });

  test("without the platform's address Telegram falls back to polling, and the runtime must stay awake", async () => {
    const moved = await client.request({ type: "channel.webhook", webhook_base: "" });
    expect(
      (moved.channels as { channel: string }[]).find((c: { channel: string }) => c.channel === "telegram"),
    ).toMatchObject({
      mode: "polling",
    });
    await waitForWebhook((w) => w === null);
    expect(await client.request({ type: "channel.list" })).toMatchObject({
      keeps_awake: true,
      webhook_configured: false,
    });
    // Back to webhook mode for the rest.
    await client.request({ type: "channel.webhook", webhook_base: base });
    await waitForWebhook((w) => w !== null);
    expect((await telegram.webhook(BOT))?.url).toBe(hookUrl("telegram"));
  });
});

describe("Slack by the Events API", () => {
  test("bad credentials are refused before anything is stored", async () => {
    const shape = await client.request({
      type: "channel.set",
      channel: "slack",
      bot_token: "nope",
      signing_secret: SLACK.signingSecret,
    });
    expect(shape.error).toMatchObject({ code: "bad_request" });
    const unknown = await client.request({
      type: "channel.set",
      channel: "slack",
      bot_token: `xoxb-${random()}`,
      signing_secret: SLACK.signingSecret,
    });
    expect(unknown.error).toMatchObject({ code: "rejected" });
    expect(await client.request({ type: "channel.get", channel: "slack" })).toMatchObject({
      configured: false,
    });
  });

  test("connected, it shows the Request URL to paste into Slack; url_verification is answered only when signed", async () => {
    const set = await client.request({
      type: "channel.set",
      channel: "slack",
      bot_token: SLACK.botToken,
      signing_secret: SLACK.signingSecret,
      allowed_user_ids: ["U0OWNER"],
    });
    expect(set).toMatchObject({
      configured: true,
      mode: "webhook",
      status: "webhook",
      team: "Fake Team",
      webhook_url: hookUrl("slack"),
    });
    const verified = await slack.verifyUrl(SLACK.botToken, hookUrl("slack"));
    expect(verified.status).toBe(200);
    expect(JSON.parse(verified.body)).toEqual({ challenge: verified.challenge });
    expect((await slack.verifyUrl(SLACK.botToken, hookUrl("slack"), { wrongSecret: true })).status).toBe(401);
    // Outside Slack's 5-minute window, even a correct signature is a replay.
    expect(
      (await slack.verifyUrl(SLACK.botToken, hookUrl("slack"), { timestampOffsetSeconds: -301 })).status,
    ).toBe(401);
    expect(
      (await slack.verifyUrl(SLACK.botToken, hookUrl("slack"), { timestampOffsetSeconds: -250 })).status,
    ).toBe(200);
  });

  test("a message from an allowed user is answered in its channel; a stranger is told once; forged events do nothing", async () => {
    const before = await turns();
    const ok = await slack.userSays(SLACK.botToken, hookUrl("slack"), {
      user: "U0OWNER",
      channel: "D0CHAT",
      text: "hi slack",
    });
    expect(ok.status).toBe(200);
    expect((await slack.waitForPosted(SLACK.botToken, 1))[0]).toEqual({
      channel: "D0CHAT",
      text: "You said: hi slack",
    });
    // The same event delivered again (Slack retries) is not answered twice.
    const eventId = "Ev0DUPLICATE";
    await slack.userSays(SLACK.botToken, hookUrl("slack"), {
      user: "U0OWNER",
      channel: "D0CHAT",
      text: "once",
      eventId,
    });
    await slack.userSays(SLACK.botToken, hookUrl("slack"), {
      user: "U0OWNER",
      channel: "D0CHAT",
      text: "once",
      eventId,
    });
    await slack.waitForPosted(SLACK.botToken, 2);
    for (let i = 0; i < 2; i++) {
      await slack.userSays(SLACK.botToken, hookUrl("slack"), {
        user: "U0STRANGER",
        channel: "C0PUBLIC",
        text: "let me in",
      });
    }
    const forged = await slack.userSays(
      SLACK.botToken,
      hookUrl("slack"),
      { user: "U0OWNER", channel: "D0CHAT", text: "forged" },
      { wrongSecret: true },
    );
    expect(forged.status).toBe(401);
    const posted = await slack.waitForPosted(SLACK.botToken, 3);
    await Bun.sleep(300);
    expect(await slack.posted(SLACK.botToken)).toHaveLength(3);
    expect(posted[2]).toMatchObject({ channel: "C0PUBLIC" });
    expect(posted[2]?.text).toContain("U0STRANGER");
    expect(await turns()).toBe(before + 2);
  });
});

describe("WhatsApp Cloud API", () => {
  test("connected, Meta's verification GET is answered with the challenge only for the right verify token", async () => {
    const missing = await client.request({
      type: "channel.set",
      channel: "whatsapp",
      access_token: WA.accessToken,
    });
    expect(missing.error).toMatchObject({ code: "bad_request" });
    const set = await client.request({
      type: "channel.set",
      channel: "whatsapp",
      phone_number_id: WA.phoneNumberId,
      access_token: WA.accessToken,
      app_secret: WA.appSecret,
      verify_token: VERIFY_TOKEN,
      allowed_numbers: ["15550100"],
    });
    expect(set).toMatchObject({
      configured: true,
      mode: "webhook",
      display_phone_number: WA.display,
      webhook_url: hookUrl("whatsapp"),
    });
    const good = await whatsapp.verify(WA.phoneNumberId, hookUrl("whatsapp"), VERIFY_TOKEN);
    expect(good).toMatchObject({ status: 200, body: good.challenge });
    const bad = await whatsapp.verify(WA.phoneNumberId, hookUrl("whatsapp"), "another-verify-token");
    expect(bad.status).toBe(403);
    expect(bad.body).not.toContain(bad.challenge);
  });

  test("a signed text from an allowed number is answered; a bad signature is refused", async () => {
    const before = await turns();
    const ok = await whatsapp.userSays(WA.phoneNumberId, hookUrl("whatsapp"), "15550100", "hola");
    expect(ok.status).toBe(200);
    expect((await whatsapp.waitForSent(WA.phoneNumberId, 1))[0]).toEqual({
      to: "15550100",
      text: "You said: hola",
    });
    const forged = await whatsapp.userSays(WA.phoneNumberId, hookUrl("whatsapp"), "15550100", "forged", true);
    expect(forged.status).toBe(401);
    await Bun.sleep(300);
    expect(await whatsapp.sent(WA.phoneNumberId)).toHaveLength(1);
    expect(await turns()).toBe(before + 1);
  });
});

describe("credentials", () => {
  test("no credential or hook secret is in any file of the data directory, any log line or any status", async () => {
    const secrets = [
      BOT.split(":")[1] as string,
      SLACK.botToken,
      SLACK.signingSecret,
      WA.accessToken,
      WA.appSecret,
      VERIFY_TOKEN,
      HOOK_SECRET,
    ];
    const telegramSecret = (await telegram.webhook(BOT))?.secret_token as string;
    secrets.push(telegramSecret);
    const statuses = JSON.stringify(await client.request({ type: "channel.list" }));
    for (const secret of secrets) {
      for (const file of readdirSync(dataDir)) {
        expect(readFileSync(join(dataDir, file)).toString("latin1")).not.toContain(secret);
      }
      expect(logs.join("\n")).not.toContain(secret);
      // The hook secret is shown to the user on purpose (Slack and Meta need the URL); nothing else.
      if (secret !== HOOK_SECRET) expect(statuses).not.toContain(secret);
    }
    expect(logs.join("\n")).toContain("slack webhook refused");
  });

  test("channel.delete removes Telegram's webhook at Telegram and forgets the channel", async () => {
    expect(await client.request({ type: "channel.delete", channel: "telegram" })).toMatchObject({
      type: "channel.deleted",
    });
    expect(await telegram.webhook(BOT)).toBeNull();
    const gone = await fetch(`${hookUrl("telegram")}`, { method: "POST", body: "{}" });
    expect(gone.status).toBe(404);
  });
});
