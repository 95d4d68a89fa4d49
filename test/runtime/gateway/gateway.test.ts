// The gateway protocol against a runtime started in-process, with the fake provider on loopback.
// (The same runtime, compiled and in its image under full isolation: test/runtime/image.test.ts.)
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { type Runtime, startRuntime } from "../../../runtime/app.ts";
import { loadRuntimeConfig } from "../../../runtime/config.ts";
import { startFakeProvider } from "../../fakes/provider.ts";
import { freePort, tempDir } from "../../helpers/process.ts";
import { GatewayClient } from "../gateway_client.ts";

const fake = startFakeProvider();
const OPENAI_KEY = `openai-test-key-${crypto.randomUUID()}`;
const ANTHROPIC_KEY = `anthropic-test-key-${crypto.randomUUID()}`;
const TOKEN = `gateway-token-${crypto.randomUUID()}`;
const dataDir = tempDir("cf-runtime-gateway");
const logs: string[] = [];
let runtime: Runtime;
let wsUrl: string;
let client: GatewayClient;

beforeAll(async () => {
  const port = await freePort();
  runtime = await startRuntime(
    loadRuntimeConfig({
      HOST: "127.0.0.1",
      PORT: String(port),
      CLAWFLEET_DATA_DIR: dataDir,
      CLAWFLEET_GATEWAY_TOKEN: TOKEN,
      CLAWFLEET_LOG_LEVEL: "debug",
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      CLAWFLEET_DEFAULT_PROVIDER: "openai",
      CLAWFLEET_OPENAI_BASE_URL: fake.openaiBaseUrl,
      CLAWFLEET_ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      CLAWFLEET_PROVIDER_IDLE_TIMEOUT_MS: "2000",
    }),
    { logSink: (line) => logs.push(line) },
  );
  wsUrl = `ws://127.0.0.1:${port}/gateway`;
  client = await GatewayClient.connect(wsUrl, TOKEN);
});

afterAll(async () => {
  client?.close();
  await runtime?.stop();
  await fake.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await fake.script([]);
  await fake.clearRequests();
});

describe("HTTP surface", () => {
  test("/healthz answers 200 with the version", async () => {
    const response = await fetch(`${runtime.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", version: "0.1.0" });
  });

  test("/gateway refuses a missing or wrong token with 401 before any upgrade", async () => {
    for (const authorization of [
      undefined,
      "Bearer wrong-token",
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      "Bearer ",
    ]) {
      const response = await fetch(`${runtime.url}/gateway`, {
        headers: { upgrade: "websocket", connection: "Upgrade", ...(authorization ? { authorization } : {}) },
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
    await expect(GatewayClient.connect(wsUrl, "not-the-token")).rejects.toThrow("connection failed");
  });

  test("/gateway without an upgrade is 426, unknown paths are a JSON 404", async () => {
    const plain = await fetch(`${runtime.url}/gateway`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(plain.status).toBe(426);
    const missing = await fetch(`${runtime.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: "not_found", message: "no such path" } });
  });

  test("a connection is greeted with the providers it can use, never their keys", async () => {
    const other = await GatewayClient.connect(wsUrl, TOKEN);
    const hello = await other.next((f) => f.type === "hello");
    other.close();
    expect(hello.default_provider).toBe("openai");
    expect(hello.providers).toContainEqual({
      id: "anthropic",
      label: "Anthropic",
      model: "claude-sonnet-4-5",
      configured: true,
    });
    expect(hello.providers).toContainEqual({
      id: "gemini",
      label: "Gemini",
      model: "gemini-2.5-flash",
      configured: false,
    });
    expect(JSON.stringify(hello)).not.toContain(OPENAI_KEY);
  });
});

describe("chat", () => {
  test("streams deltas in order with increasing seq, then done; history has both turns", async () => {
    await fake.script([{ reply: { kind: "text", chunks: ["One", ", two", ", three", "."] } }]);
    const outcome = await client.chat({ text: "count to three", conversation_id: "conv-order" });
    expect(outcome.error).toBeNull();
    expect(outcome.frames[0]).toMatchObject({
      type: "chat.started",
      conversation_id: "conv-order",
      provider: "openai",
    });
    expect(outcome.deltas).toEqual(["One", ", two", ", three", "."]);
    const seqs = outcome.frames.filter((f) => f.type === "chat.delta").map((f) => f.seq);
    expect(seqs).toEqual([0, 1, 2, 3]);
    expect(outcome.done).toMatchObject({ text: "One, two, three.", provider: "openai", stop_reason: "stop" });

    const messages = await client.request({ type: "history.get", conversation_id: "conv-order" });
    expect(
      (messages.messages as { role: string; content: string }[]).map((m) => [m.role, m.content]),
    ).toEqual([
      ["user", "count to three"],
      ["assistant", "One, two, three."],
    ]);
  });

  test("the next turn carries the conversation so far; the provider can be chosen per message", async () => {
    await client.chat({ text: "my name is Ada", conversation_id: "conv-ctx" });
    const outcome = await client.chat({
      text: "what is my name?",
      conversation_id: "conv-ctx",
      provider: "anthropic",
    });
    expect(outcome.done).toMatchObject({ provider: "anthropic", text: "You said: what is my name?" });
    const last = (await fake.requests()).at(-1);
    expect(last?.api).toBe("anthropic");
    expect(last?.headers["x-api-key"]).toBe(ANTHROPIC_KEY);
    expect((last?.body as { messages?: unknown[] } | undefined)?.messages).toEqual([
      { role: "user", content: "my name is Ada" },
      { role: "assistant", content: "You said: my name is Ada" },
      { role: "user", content: "what is my name?" },
    ]);
  });

  test("without a conversation_id a new conversation is started and named in every frame", async () => {
    const outcome = await client.chat({ text: "fresh start" });
    const conversationId = outcome.done?.conversation_id as string;
    expect(conversationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(outcome.frames.every((f) => f.conversation_id === conversationId)).toBe(true);
  });

  test("provider errors reach the user as chat.error with a clear message and no key", async () => {
    await fake.script([
      { match: "limit", reply: { kind: "http_error", status: 429, retryAfter: "12" } },
      { match: "broken", reply: { kind: "http_error", status: 500, message: "internal oops" } },
    ]);
    const limited = await client.chat({ text: "hit the limit" });
    expect(limited.error?.type).toBe("chat.error");
    expect(limited.error?.error).toEqual({
      code: "rate_limited",
      message: 'OpenAI rate limit reached (HTTP 429). Try again in 12 s. OpenAI said: "scripted error 429"',
      status: 429,
      retry_after: 12,
    });
    const broken = await client.chat({ text: "broken please" });
    expect(broken.error?.error).toMatchObject({ code: "provider_unavailable", status: 500 });
    const noKey = await client.chat({ text: "hello", provider: "gemini" });
    expect(noKey.error?.error).toMatchObject({
      code: "no_key",
      message: "No Gemini API key is configured. Add one in clawfleet.",
    });
  });

  test("a reply that echoes the key back to the user has it removed", async () => {
    await fake.script([{ reply: { kind: "text", chunks: ["your key is ", OPENAI_KEY] } }]);
    const outcome = await client.chat({ text: "leak it" });
    expect(outcome.done?.text).toBe("your key is [redacted]");
    expect(JSON.stringify(outcome.frames)).not.toContain(OPENAI_KEY);
  });

  test("chat.cancel stops a running reply", async () => {
    await fake.script([{ reply: { kind: "text", chunks: ["a", "b", "c", "d", "e"], delayMs: 300 } }]);
    client.send({ type: "chat", id: "to-cancel", text: "take your time" });
    await client.next((f) => f.id === "to-cancel" && f.type === "chat.delta");
    client.send({ type: "chat.cancel", id: "to-cancel" });
    const end = await client.next(
      (f) => f.id === "to-cancel" && (f.type === "chat.error" || f.type === "chat.done"),
    );
    expect(end.type).toBe("chat.error");
    expect((end.error as { code: string }).code).toBe("cancelled");
  });

  test("memory is set, read back, and sent to the provider in the system prompt", async () => {
    const set = await client.request({ type: "memory.set", content: "The user prefers metric units." });
    expect(set).toMatchObject({ type: "memory", content: "The user prefers metric units." });
    expect((await client.request({ type: "memory.get" })).content).toBe("The user prefers metric units.");
    await client.chat({ text: "how tall is Everest?" });
    const body = (await fake.requests()).at(-1)?.body as { messages: { role: string; content: string }[] };
    expect(body.messages[0]?.role).toBe("system");
    expect(body.messages[0]?.content).toContain("The user prefers metric units.");
    await client.request({ type: "memory.set", content: "" });
  });

  test("history.list shows conversations newest first; history.delete removes one", async () => {
    await client.chat({ text: "to be deleted", conversation_id: "conv-delete" });
    const list = await client.request({ type: "history.list" });
    const conversations = list.conversations as { id: string; title: string }[];
    expect(conversations[0]).toMatchObject({ id: "conv-delete", title: "to be deleted" });
    expect(await client.request({ type: "history.delete", conversation_id: "conv-delete" })).toMatchObject({
      type: "history.deleted",
    });
    const again = await client.request({ type: "history.get", conversation_id: "conv-delete" });
    expect(again.error).toEqual({ code: "not_found", message: "no such conversation" });
  });
});

describe("bad input", () => {
  test.each([
    ["not json", "{nope", "the frame is not valid JSON"],
    ["an array", "[1,2]", "a message must be a JSON object"],
    ["no type", "{}", "type is required"],
    ["unknown type", '{"type":"launch"}', 'unknown message type "launch"'],
    ["empty chat text", '{"type":"chat","text":"  "}', "text must be a non-empty string"],
    [
      "bad conversation id",
      '{"type":"chat","text":"hi","conversation_id":"../../etc"}',
      "conversation_id must be",
    ],
    ["bad request id", '{"type":"ping","id":"has spaces"}', "id must be 1-64"],
    ["bad limit", '{"type":"history.list","limit":0}', "expected a whole number"],
    [
      "huge memory",
      JSON.stringify({ type: "memory.set", content: "x".repeat(40_000) }),
      "content is limited",
    ],
    [
      "unknown channel",
      '{"type":"channel.get","channel":"irc"}',
      "channel must be one of: telegram, slack, whatsapp",
    ],
  ])(
    "%s is answered with a clear error frame and the connection stays usable",
    async (_name, frame, message) => {
      client.send(frame);
      const error = await client.next((f) => f.type === "error");
      expect((error.error as { message: string }).message).toContain(message);
      expect(["bad_request", "unknown_type"]).toContain((error.error as { code: string }).code);
      expect(await client.request({ type: "ping" })).toMatchObject({ type: "pong" });
    },
  );

  test("a frame above the size limit closes the connection, and the runtime keeps serving", async () => {
    const other = await GatewayClient.connect(wsUrl, TOKEN);
    other.send(JSON.stringify({ type: "memory.set", content: "x".repeat(300 * 1024) }));
    await expect(other.next((f) => f.type === "memory", 3000)).rejects.toThrow("gateway closed");
    expect(await client.request({ type: "ping" })).toMatchObject({ type: "pong" });
  });
});

describe("logs", () => {
  test("record the work without any key or token", () => {
    const all = logs.join("\n");
    expect(all).toContain('"msg":"chat turn finished"');
    expect(all).toContain('"msg":"gateway connection refused"');
    for (const secret of [OPENAI_KEY, ANTHROPIC_KEY, TOKEN]) expect(all).not.toContain(secret);
  });
});
