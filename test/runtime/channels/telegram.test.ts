// The Telegram connector, set up through the gateway, against the fake Bot API and the fake provider.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Runtime, startRuntime } from "../../../runtime/app.ts";
import { splitForTelegram } from "../../../runtime/channels/telegram_api.ts";
import { loadRuntimeConfig } from "../../../runtime/config.ts";
import { startFakeProvider } from "../../fakes/provider.ts";
import { startFakeTelegram } from "../../fakes/telegram.ts";
import { freePort, tempDir } from "../../helpers/process.ts";
import { GatewayClient } from "../gateway_client.ts";

const provider = startFakeProvider();
const telegram = startFakeTelegram();
const GATEWAY_TOKEN = `gateway-token-${crypto.randomUUID()}`;
const botToken = () =>
  `${1000 + Math.floor(Math.random() * 9e8)}:AAH${crypto.randomUUID().replaceAll("-", "")}`;
const BOT = botToken();
const OWNER_CHAT = 424242;
const STRANGER_CHAT = 999001;
const dataDir = tempDir("cf-runtime-telegram");
const logs: string[] = [];
let port: number;
let runtime: Runtime;
let client: GatewayClient;

function env(extra: Record<string, string> = {}) {
  return {
    HOST: "127.0.0.1",
    PORT: String(port),
    CLAWFLEET_DATA_DIR: dataDir,
    CLAWFLEET_GATEWAY_TOKEN: GATEWAY_TOKEN,
    OPENAI_API_KEY: `openai-key-${crypto.randomUUID()}`,
    CLAWFLEET_OPENAI_BASE_URL: provider.openaiBaseUrl,
    CLAWFLEET_TELEGRAM_API_BASE: telegram.url,
    CLAWFLEET_TELEGRAM_POLL_TIMEOUT: "1",
    ...extra,
  };
}

async function start(extra: Record<string, string> = {}) {
  runtime = await startRuntime(loadRuntimeConfig(env(extra)), { logSink: (line) => logs.push(line) });
  client = await GatewayClient.connect(`ws://127.0.0.1:${port}/gateway`, GATEWAY_TOKEN);
}

async function restart(extra: Record<string, string> = {}) {
  client.close();
  await runtime.stop();
  await start(extra);
}

async function waitForStatus(status: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const state = await client.request({ type: "channel.get", channel: "telegram" });
    if (state.status === status) return state;
    if (Date.now() > deadline) throw new Error(`telegram status stayed ${state.status} (${state.detail})`);
    await Bun.sleep(50);
  }
}

beforeAll(async () => {
  port = await freePort();
  await telegram.addBot(BOT, "clawfleet_test_bot");
  await start();
});

afterAll(async () => {
  client?.close();
  await runtime?.stop();
  await telegram.stop();
  await provider.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("setting up the channel", () => {
  test("a token of the wrong shape, or one Telegram rejects, is refused and nothing is stored", async () => {
    const badShape = await client.request({ type: "channel.set", channel: "telegram", bot_token: "hello" });
    expect(badShape.error).toMatchObject({ code: "bad_request" });
    const unknown = await client.request({ type: "channel.set", channel: "telegram", bot_token: botToken() });
    expect(unknown.error).toEqual({
      code: "rejected",
      message: "Telegram rejected the bot token. Check it with @BotFather.",
    });
    expect(await client.request({ type: "channel.get", channel: "telegram" })).toMatchObject({
      configured: false,
      status: "stopped",
    });
  });

  test("a valid token starts polling; the status never shows the token", async () => {
    const set = await client.request({
      type: "channel.set",
      channel: "telegram",
      bot_token: BOT,
      allowed_chat_ids: [OWNER_CHAT],
    });
    expect(set).toMatchObject({
      type: "channel",
      channel: "telegram",
      configured: true,
      enabled: true,
      allowed_chat_ids: [OWNER_CHAT],
      bot_username: "clawfleet_test_bot",
    });
    expect(JSON.stringify(set)).not.toContain(BOT.split(":")[1]);
    await waitForStatus("polling");
  });
});

describe("conversations over Telegram", () => {
  test("an allowed chat gets the assistant's reply, and the exchange lands in history", async () => {
    await provider.script([
      { match: "capital", reply: { kind: "text", chunks: ["Paris", " is the capital."] } },
    ]);
    await telegram.userSays(BOT, OWNER_CHAT, "What is the capital of France?");
    const [reply] = await telegram.waitForSent(BOT, 1);
    expect(reply).toMatchObject({ chat_id: OWNER_CHAT, text: "Paris is the capital." });
    const history = await client.request({ type: "history.get", conversation_id: `telegram:${OWNER_CHAT}` });
    expect((history.messages as { content: string }[]).map((m) => m.content)).toEqual([
      "What is the capital of France?",
      "Paris is the capital.",
    ]);
  });

  test("a stranger is told the bot is private, once, and the provider is never called", async () => {
    await provider.clearRequests();
    await telegram.userSays(BOT, STRANGER_CHAT, "hi bot");
    await telegram.userSays(BOT, STRANGER_CHAT, "hello??");
    await telegram.userSays(BOT, OWNER_CHAT, "ping after stranger");
    const sent = await telegram.waitForSent(BOT, 3);
    expect(sent[1]).toMatchObject({ chat_id: STRANGER_CHAT });
    expect(sent[1]?.text).toContain(`add the chat id ${STRANGER_CHAT}`);
    expect(sent[2]).toMatchObject({ chat_id: OWNER_CHAT, text: "You said: ping after stranger" });
    expect(sent.filter((m) => m.chat_id === STRANGER_CHAT)).toHaveLength(1);
    expect((await provider.requests()).length).toBe(1);
  });

  test("a provider error is sent to the chat as a readable message", async () => {
    await provider.script([{ reply: { kind: "http_error", status: 429, retryAfter: "30" } }]);
    await telegram.userSays(BOT, OWNER_CHAT, "are you there?");
    const sent = await telegram.waitForSent(BOT, 4);
    expect(sent[3]?.text).toStartWith(
      "Sorry, I could not answer: OpenAI rate limit reached (HTTP 429). Try again in 30 s.",
    );
    await provider.script([]);
  });

  test("a Telegram 429 on getUpdates is waited out for retry_after, then polling resumes", async () => {
    await telegram.fail(BOT, {
      method: "getUpdates",
      status: 429,
      description: "Too Many Requests: retry after 1",
      retryAfter: 1,
      times: 1,
    });
    // The running long poll ends (conflict with nobody) only at its timeout; the failure hits the next one.
    await waitForStatus("rate_limited", 6000);
    await waitForStatus("polling", 6000);
    await telegram.userSays(BOT, OWNER_CHAT, "back again");
    const sent = await telegram.waitForSent(BOT, 5);
    // The failed turn's message stays in the conversation, so the echo carries both user turns.
    expect(sent[4]?.text).toBe("You said: are you there?\n\nback again");
  }, 20_000);

  test("after a restart the connector resumes from the stored offset and answers nothing twice", async () => {
    const callsBefore = (await telegram.calls(BOT)).length;
    await restart();
    await waitForStatus("polling");
    await telegram.userSays(BOT, OWNER_CHAT, "after restart");
    const sent = await telegram.waitForSent(BOT, 6);
    await Bun.sleep(300);
    expect(await telegram.sent(BOT)).toHaveLength(6);
    expect(sent[5]?.text).toBe("You said: after restart");
    // The first poll of the new process already acknowledges the five updates answered before.
    const firstPoll = (await telegram.calls(BOT)).slice(callsBefore).find((c) => c.method === "getUpdates");
    expect(firstPoll?.offset).toBeNumber();
  }, 15_000);

  test("long replies are split at Telegram's 4096-character limit", async () => {
    const long = `${"a".repeat(3000)}\n${"b".repeat(3000)}`;
    expect(splitForTelegram(long)).toEqual(["a".repeat(3000), "b".repeat(3000)]);
    expect(splitForTelegram("x".repeat(9000)).map((p) => p.length)).toEqual([4096, 4096, 808]);
    await provider.script([{ reply: { kind: "text", chunks: [long] } }]);
    await telegram.userSays(BOT, OWNER_CHAT, "write a lot");
    const sent = await telegram.waitForSent(BOT, 8);
    expect(sent.slice(6).map((m) => m.text.length)).toEqual([3000, 3000]);
    await provider.script([]);
  });
});

describe("credentials at rest and teardown", () => {
  test("the bot token is in no file of the data directory and in no log line", async () => {
    const secret = BOT.split(":")[1] as string;
    for (const file of readdirSync(dataDir)) {
      expect(readFileSync(join(dataDir, file)).toString("latin1")).not.toContain(secret);
    }
    expect(logs.join("\n")).not.toContain(secret);
    expect(logs.join("\n")).toContain("telegram");
  });

  test("without a secrets key, channel credentials are refused rather than stored in the clear", async () => {
    await restart({ CLAWFLEET_GATEWAY_TOKEN: "" });
    const state = await client.request({ type: "channel.get", channel: "telegram" });
    expect(state).toMatchObject({ configured: true, status: "error" });
    const set = await client.request({ type: "channel.set", channel: "telegram", bot_token: BOT });
    expect(set.error).toMatchObject({ code: "secrets_key_missing" });
    await restart();
  });

  test("a token sealed under another key is reported, not used", async () => {
    await restart({ CLAWFLEET_SECRETS_KEY: `another-secrets-key-${crypto.randomUUID()}` });
    const state = await client.request({ type: "channel.get", channel: "telegram" });
    expect(state).toMatchObject({
      status: "error",
      detail: "The stored Telegram token was sealed under another key; set it again.",
    });
    await restart();
    await waitForStatus("polling");
  }, 15_000);

  test("disabling stops polling; channel.delete forgets the channel", async () => {
    const disabled = await client.request({ type: "channel.set", channel: "telegram", enabled: false });
    expect(disabled).toMatchObject({ enabled: false, status: "stopped", configured: true });
    const removed = await client.request({ type: "channel.delete", channel: "telegram" });
    expect(removed).toMatchObject({ type: "channel.deleted", channel: "telegram" });
    expect(await client.request({ type: "channel.get", channel: "telegram" })).toMatchObject({
      configured: false,
      status: "stopped",
    });
    const again = await client.request({ type: "channel.delete", channel: "telegram" });
    expect(again.error).toMatchObject({ code: "not_found" });
  });
});
