// OpenAI-compatible chat completions (OpenAI, OpenRouter, Gemini's OpenAI endpoint): POST
// {base}/chat/completions with `stream: true`; each SSE `data:` is a chunk whose
// choices[0].delta.content carries text, and the literal `data: [DONE]` ends the stream. An error
// that happens after the response started arrives as a chunk with an `error` object.
import type { ProviderConfig } from "../config.ts";
import { ProviderError } from "./errors.ts";
import { streamSse } from "./stream_http.ts";
import type { ChatProvider, ChatRequest, StreamEvent, Usage } from "./types.ts";

type Chunk = {
  model?: string;
  choices?: { delta?: { content?: unknown }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: unknown; type?: unknown; code?: unknown };
};

export function openAiProvider(config: ProviderConfig, apiKey: string, idleTimeoutMs: number): ChatProvider {
  return {
    id: config.id,
    label: config.label,
    model: config.model,
    async *stream(request: ChatRequest): AsyncGenerator<StreamEvent> {
      const messages = [
        ...(request.system ? [{ role: "system", content: request.system }] : []),
        ...request.messages,
      ];
      const events = streamSse({
        label: config.label,
        baseUrl: config.baseUrl,
        url: `${config.baseUrl}/chat/completions`,
        headers: { authorization: `Bearer ${apiKey}` },
        body: {
          model: request.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: request.maxTokens,
        },
        idleTimeoutMs,
        signal: request.signal,
      });
      yield* parseOpenAiEvents(config.label, request.model, events);
    },
  };
}

export async function* parseOpenAiEvents(
  label: string,
  requestedModel: string,
  events: AsyncIterable<{ data: string }>,
): AsyncGenerator<StreamEvent> {
  let stopReason: string | null = null;
  let usage: Usage | null = null;
  let model = requestedModel;
  for await (const event of events) {
    if (event.data === "[DONE]") {
      yield { type: "done", stopReason, usage, model };
      return;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(event.data) as Chunk;
    } catch {
      throw new ProviderError("malformed_stream", `${label} sent a malformed stream; the reply was cut off.`);
    }
    if (chunk === null || typeof chunk !== "object") {
      throw new ProviderError("malformed_stream", `${label} sent a malformed stream; the reply was cut off.`);
    }
    if (chunk.error) {
      const message =
        typeof chunk.error.message === "string" ? chunk.error.message.slice(0, 300) : "unknown error";
      throw new ProviderError("stream_error", `${label} stopped with an error: ${message}`);
    }
    if (typeof chunk.model === "string") model = chunk.model;
    const choice = chunk.choices?.[0];
    const content = choice?.delta?.content;
    if (typeof content === "string" && content !== "") yield { type: "delta", text: content };
    if (choice?.finish_reason) stopReason = choice.finish_reason;
    if (chunk.usage) {
      usage = {
        inputTokens: chunk.usage.prompt_tokens ?? null,
        outputTokens: chunk.usage.completion_tokens ?? null,
      };
    }
  }
  // Some compatible servers omit [DONE]; a finish_reason still marks a complete answer.
  if (stopReason !== null) {
    yield { type: "done", stopReason, usage, model };
    return;
  }
  throw new ProviderError("incomplete_stream", `${label}'s stream ended before the reply was complete.`);
}
