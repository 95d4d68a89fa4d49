// Both provider adapters against the fake provider's real wire formats, including every failure the
// user must hear about in words, and never the key.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { loadRuntimeConfig, type ProviderConfig } from "../../../runtime/config.ts";
import { anthropicProvider } from "../../../runtime/providers/anthropic.ts";
import { ProviderError, parseRetryAfter } from "../../../runtime/providers/errors.ts";
import { openAiProvider, parseOpenAiEvents } from "../../../runtime/providers/openai.ts";
import { resolveProvider } from "../../../runtime/providers/registry.ts";
import type { ChatProvider, StreamEvent } from "../../../runtime/providers/types.ts";
import { startFakeProvider } from "../../fakes/provider.ts";
import { freePort } from "../../helpers/process.ts";

const fake = startFakeProvider();
afterAll(() => fake.stop());
beforeEach(async () => {
  await fake.script([]);
  await fake.acceptKeys(null);
  await fake.clearRequests();
});

const KEY = `fake-provider-key-${crypto.randomUUID()}`;

function config(id: "openai" | "anthropic", baseUrl: string): ProviderConfig {
  return {
    id,
    label: id === "openai" ? "OpenAI" : "Anthropic",
    wire: id,
    apiKey: KEY,
    baseUrl,
    model: id === "openai" ? "gpt-test" : "claude-test",
  };
}

const ADAPTERS: ["openai" | "anthropic", (idleMs?: number, base?: string) => ChatProvider][] = [
  ["openai", (idle = 5000, base = fake.openaiBaseUrl) => openAiProvider(config("openai", base), KEY, idle)],
  [
    "anthropic",
    (idle = 5000, base = fake.anthropicBaseUrl) => anthropicProvider(config("anthropic", base), KEY, idle),
  ],
];

async function collect(provider: ChatProvider, text = "hello", signal = new AbortController().signal) {
  const events: StreamEvent[] = [];
  try {
    for await (const event of provider.stream({
      system: "be brief",
      messages: [{ role: "user", content: text }],
      model: provider.model,
      maxTokens: 100,
      signal,
    })) {
      events.push(event);
    }
    return { events, error: null };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return { events, error };
  }
}

describe.each(ADAPTERS)("%s adapter", (api, make) => {
  test("streams the scripted deltas in order, then done with the model and usage", async () => {
    await fake.script([{ reply: { kind: "text", chunks: ["Hel", "lo, ", "wor", "ld!"] } }]);
    const { events, error } = await collect(make());
    expect(error).toBeNull();
    expect(events.filter((e) => e.type === "delta").map((e) => (e as { text: string }).text)).toEqual([
      "Hel",
      "lo, ",
      "wor",
      "ld!",
    ]);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: "done", model: make().model });
    expect(done?.type === "done" && done.usage?.outputTokens).toBe(4);
  });

  test("sends the key in the API's own header and the conversation in its own shape", async () => {
    await collect(make(), "what is 2+2?");
    const [request] = await fake.requests();
    expect(request?.api).toBe(api);
    const body = request?.body as Record<string, unknown>;
    if (api === "openai") {
      expect(request?.path).toBe("/v1/chat/completions");
      expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(request?.headers["x-api-key"]).toBeUndefined();
      expect(body.messages).toEqual([
        { role: "system", content: "be brief" },
        { role: "user", content: "what is 2+2?" },
      ]);
    } else {
      expect(request?.path).toBe("/v1/messages");
      expect(request?.headers["x-api-key"]).toBe(KEY);
      expect(request?.headers.authorization).toBeUndefined();
      expect(request?.headers["anthropic-version"]).toBe("2023-06-01");
      expect(body.system).toBe("be brief");
      expect(body.messages).toEqual([{ role: "user", content: "what is 2+2?" }]);
    }
    expect(body).toMatchObject({ stream: true, max_tokens: 100, model: make().model });
  });

  test("a rejected key is a clear auth error that does not contain the key", async () => {
    await fake.acceptKeys(["some-other-key-entirely"]);
    const { error } = await collect(make());
    expect(error?.code).toBe("auth");
    expect(error?.status).toBe(401);
    expect(error?.message).toContain("rejected the API key");
    expect(error?.message).not.toContain(KEY);
  });

  test("429 carries Retry-After through to the error", async () => {
    await fake.script([
      { reply: { kind: "http_error", status: 429, retryAfter: "17", message: "slow down" } },
    ]);
    const { error } = await collect(make());
    expect(error?.code).toBe("rate_limited");
    expect(error?.retryAfterSeconds).toBe(17);
    expect(error?.message).toContain("Try again in 17 s");
    expect(error?.message).toContain("slow down");
  });

  test("5xx is 'unavailable', with the provider's own words", async () => {
    await fake.script([{ reply: { kind: "http_error", status: 503, message: "upstream is down" } }]);
    const { error } = await collect(make());
    expect(error?.code).toBe("provider_unavailable");
    expect(error?.message).toMatch(/unavailable right now \(HTTP 503\).*upstream is down/);
  });

  test("an error inside the stream stops the reply after the text streamed so far", async () => {
    await fake.script([{ reply: { kind: "stream_error", chunks: ["partial "], message: "Overloaded" } }]);
    const { events, error } = await collect(make());
    expect(events).toEqual([{ type: "delta", text: "partial " }]);
    expect(error?.code).toBe("stream_error");
    expect(error?.message).toContain("Overloaded");
  });

  test("a malformed stream is reported as such", async () => {
    await fake.script([{ reply: { kind: "malformed", chunks: ["a"] } }]);
    const { error } = await collect(make());
    expect(error?.code).toBe("malformed_stream");
    expect(error?.message).toContain("malformed stream");
  });

  test("a stream that ends without its end marker is incomplete", async () => {
    await fake.script([{ reply: { kind: "truncated", chunks: ["cut "] } }]);
    const { error } = await collect(make());
    expect(error?.code).toBe("incomplete_stream");
  });

  test("connection refused names the host, not the key", async () => {
    const port = await freePort();
    const base = api === "openai" ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`;
    const { error } = await collect(make(5000, base));
    expect(error?.code).toBe("unreachable");
    expect(error?.message).toBe(
      `Could not reach ${api === "openai" ? "OpenAI" : "Anthropic"} at 127.0.0.1:${port}: connection refused.`,
    );
  });

  test("a provider that goes silent is abandoned after the idle timeout", async () => {
    await fake.script([{ reply: { kind: "text", chunks: ["slow"], delayMs: 1500 } }]);
    const started = Date.now();
    const { error } = await collect(make(300));
    expect(error?.code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(1400);
  });

  test("cancelling stops the stream", async () => {
    await fake.script([{ reply: { kind: "text", chunks: ["a", "b", "c", "d"], delayMs: 200 } }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 250);
    const { events, error } = await collect(make(), "hello", controller.signal);
    expect(error?.code).toBe("cancelled");
    expect(events.length).toBeLessThan(4);
  });
});

describe("provider choice", () => {
  const env = { OPENAI_API_KEY: KEY, CLAWFLEET_OPENAI_BASE_URL: "http://127.0.0.1:9/v1" };

  test("defaults to the first provider with a key, and honours CLAWFLEET_DEFAULT_PROVIDER", () => {
    expect(loadRuntimeConfig(env).defaultProvider).toBe("openai");
    expect(loadRuntimeConfig({ ...env, ANTHROPIC_API_KEY: "k-anthropic-123" }).defaultProvider).toBe(
      "anthropic",
    );
    expect(
      loadRuntimeConfig({
        ...env,
        ANTHROPIC_API_KEY: "k-anthropic-123",
        CLAWFLEET_DEFAULT_PROVIDER: "openai",
      }).defaultProvider,
    ).toBe("openai");
  });

  test("a message may name the provider; 'google' means Gemini through its OpenAI endpoint", () => {
    const cfg = loadRuntimeConfig({ ...env, GEMINI_API_KEY: "k-gemini-123456" });
    const gemini = resolveProvider(cfg, "google");
    expect(gemini.id).toBe("gemini");
    expect(cfg.providers.gemini.baseUrl).toBe("https://generativelanguage.googleapis.com/v1beta/openai");
  });

  test("a provider without a key, an unknown provider, and no key at all are clear errors", () => {
    const cfg = loadRuntimeConfig(env);
    expect(() => resolveProvider(cfg, "anthropic")).toThrow("No Anthropic API key is configured");
    expect(() => resolveProvider(cfg, "mistral")).toThrow('Unknown provider "mistral"');
    expect(() => resolveProvider(loadRuntimeConfig({}), undefined)).toThrow(
      "No AI provider key is configured",
    );
  });

  test("bad configuration names the variable and never echoes a value", () => {
    expect(() => loadRuntimeConfig({ CLAWFLEET_OPENAI_BASE_URL: "ftp://x" })).toThrow(
      "CLAWFLEET_OPENAI_BASE_URL",
    );
    expect(() => loadRuntimeConfig({ CLAWFLEET_GATEWAY_TOKEN: "short-secret" })).toThrow(
      "CLAWFLEET_GATEWAY_TOKEN: must be at least 16 characters",
    );
    expect(() => loadRuntimeConfig({ PORT: "80a" })).toThrow("PORT");
    expect(() => loadRuntimeConfig({ CLAWFLEET_DEFAULT_PROVIDER: "x" })).toThrow(
      "CLAWFLEET_DEFAULT_PROVIDER",
    );
  });
});

describe("wire details", () => {
  async function* events(...data: string[]) {
    for (const d of data) yield { data: d };
  }

  test("an OpenAI-compatible stream without [DONE] but with a finish_reason is complete", async () => {
    const out: StreamEvent[] = [];
    for await (const e of parseOpenAiEvents(
      "X",
      "m",
      events('{"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}'),
    )) {
      out.push(e);
    }
    expect(out).toEqual([
      { type: "delta", text: "hi" },
      { type: "done", stopReason: "stop", usage: null, model: "m" },
    ]);
  });

  test("Retry-After accepts seconds and HTTP dates", () => {
    expect(parseRetryAfter("30")).toBe(30);
    expect(parseRetryAfter("1.2")).toBe(2);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:45 GMT", now)).toBe(45);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});
