// Token counts from real wire formats (captured shapes of each provider's documented replies), plain
// and streamed, including streams cut at arbitrary byte boundaries.
import { expect, test } from "bun:test";
import { TokenMeter } from "../../../agent/provider_gateway/meter.ts";

const enc = new TextEncoder();
const sse = (events: unknown[], named = false) =>
  events
    .map((e) => `${named ? `event: ${(e as { type: string }).type}\n` : ""}data: ${JSON.stringify(e)}\n\n`)
    .join("");

/** Feeds the text in small odd-sized pieces, so lines and even UTF-8 characters are split. */
function meter(contentType: string, text: string, requestModel: string | null = null) {
  const m = TokenMeter.forContentType(contentType, requestModel);
  const bytes = enc.encode(text);
  for (let i = 0; i < bytes.length; i += 7) m.feed(bytes.slice(i, i + 7));
  return m.finish();
}

test("OpenAI and OpenRouter chat completions, plain and streamed (usage in the last chunk)", () => {
  expect(
    meter(
      "application/json",
      JSON.stringify({
        id: "c",
        model: "gpt-4o-2024-08-06",
        choices: [],
        usage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29 },
      }),
    ),
  ).toEqual({ model: "gpt-4o-2024-08-06", input: 19, output: 10 });
  const stream = `${sse([
    { id: "c", model: "openai/gpt-4o", choices: [{ delta: { content: "Hé" } }] },
    { id: "c", model: "openai/gpt-4o", choices: [{ delta: { content: "llo" }, finish_reason: "stop" }] },
    {
      id: "c",
      model: "openai/gpt-4o",
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    },
  ])}data: [DONE]\n\n`;
  expect(meter("text/event-stream; charset=utf-8", stream)).toEqual({
    model: "openai/gpt-4o",
    input: 7,
    output: 2,
  });
  // OpenRouter's keep-alive comments are ignored.
  expect(meter("text/event-stream", `: OPENROUTER PROCESSING\n\n${stream}`).input).toBe(7);
});

test("OpenAI Responses API: usage inside response.completed", () => {
  const stream = sse([
    { type: "response.output_text.delta", delta: "hi" },
    {
      type: "response.completed",
      response: { model: "gpt-4.1", usage: { input_tokens: 30, output_tokens: 4 } },
    },
  ]);
  expect(meter("text/event-stream", stream)).toEqual({ model: "gpt-4.1", input: 30, output: 4 });
});

test("Anthropic messages: input from message_start (cache counted), cumulative output from message_delta", () => {
  const stream = sse(
    [
      {
        type: "message_start",
        message: {
          model: "claude-sonnet-4-5",
          usage: {
            input_tokens: 25,
            cache_creation_input_tokens: 5,
            cache_read_input_tokens: 100,
            output_tokens: 1,
          },
        },
      },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } },
      { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 15 } },
      { type: "message_stop" },
    ],
    true,
  );
  expect(meter("text/event-stream", stream)).toEqual({ model: "claude-sonnet-4-5", input: 130, output: 15 });
  expect(
    meter(
      "application/json",
      JSON.stringify({
        type: "message",
        model: "claude-haiku-4-5",
        usage: { input_tokens: 12, output_tokens: 6 },
      }),
    ),
  ).toEqual({ model: "claude-haiku-4-5", input: 12, output: 6 });
});

test("Google generateContent: usageMetadata, streamed (alt=sse) or as a JSON array; model from the request path", () => {
  const chunk = (text: string, candidates: number) => ({
    candidates: [{ content: { parts: [{ text }] } }],
    usageMetadata: { promptTokenCount: 8, candidatesTokenCount: candidates, totalTokenCount: 8 + candidates },
    modelVersion: "gemini-2.5-flash",
  });
  expect(meter("text/event-stream", sse([chunk("a", 1), chunk("b", 3)]))).toEqual({
    model: "gemini-2.5-flash",
    input: 8,
    output: 3,
  });
  expect(meter("application/json", JSON.stringify([chunk("a", 2), chunk("b", 5)]), "gemini-pro")).toEqual({
    model: "gemini-2.5-flash",
    input: 8,
    output: 5,
  });
  const thinking = {
    usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, thoughtsTokenCount: 10 },
  };
  expect(meter("application/json", JSON.stringify(thinking), "gemini-2.5-pro")).toEqual({
    model: "gemini-2.5-pro",
    input: 4,
    output: 12,
  });
});

test("a stream cut short reports what it carried; garbage and other content types count nothing", () => {
  const cut = sse([
    { type: "message_start", message: { model: "m", usage: { input_tokens: 9, output_tokens: 1 } } },
  ]);
  expect(meter("text/event-stream", `${cut}data: {"type": "message_delta", "usa`)).toEqual({
    model: "m",
    input: 9,
    output: 1,
  });
  expect(meter("text/event-stream", "data: not json\n\ndata: {broken\n\n")).toEqual({
    model: null,
    input: 0,
    output: 0,
  });
  expect(meter("application/octet-stream", JSON.stringify({ usage: { prompt_tokens: 5 } }))).toEqual({
    model: null,
    input: 0,
    output: 0,
  });
  expect(
    meter("application/json", JSON.stringify({ usage: { prompt_tokens: -5, completion_tokens: "9" } })),
  ).toEqual({
    model: null,
    input: 0,
    output: 0,
  });
});

test("the counts do not depend on where the stream is cut (usage split across chunks, long lines)", () => {
  const filler = "x".repeat(300);
  const text = sse([
    { model: "gpt-4o", choices: [{ delta: { content: filler } }] },
    { model: "gpt-4o", choices: [], usage: { prompt_tokens: 11, completion_tokens: 5 } },
  ]);
  const bytes = enc.encode(text);
  for (let size = 1; size <= 90; size++) {
    const m = TokenMeter.forContentType("text/event-stream", null);
    for (let i = 0; i < bytes.length; i += size) m.feed(bytes.slice(i, i + size));
    expect(m.finish()).toEqual({ model: "gpt-4o", input: 11, output: 5 });
  }
});
