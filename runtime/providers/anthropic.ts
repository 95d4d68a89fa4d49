// Anthropic messages: POST {base}/v1/messages with `stream: true`, key in `x-api-key`. Named SSE
// events: message_start, content_block_start/delta/stop, message_delta (stop reason, usage),
// message_stop, ping, and `error` (e.g. overloaded_error) which can arrive mid-stream. Unknown
// events are ignored, as Anthropic's versioning policy asks.
import type { ProviderConfig } from "../config.ts";
import { ProviderError } from "./errors.ts";
import type { SseEvent } from "./sse.ts";
import { streamSse } from "./stream_http.ts";
import type { ChatProvider, ChatRequest, StreamEvent, Usage } from "./types.ts";

export const ANTHROPIC_VERSION = "2023-06-01";

type Payload = {
  type?: string;
  message?: { model?: string; usage?: { input_tokens?: number; output_tokens?: number } };
  delta?: { type?: string; text?: unknown; stop_reason?: string | null };
  usage?: { output_tokens?: number };
  error?: { type?: unknown; message?: unknown };
};

const ERROR_TYPES: Record<string, string> = {
  overloaded_error: "is overloaded",
  api_error: "had an internal error",
  rate_limit_error: "rate limit was reached",
};

export function anthropicProvider(
  config: ProviderConfig,
  apiKey: string,
  idleTimeoutMs: number,
): ChatProvider {
  return {
    id: config.id,
    label: config.label,
    model: config.model,
    async *stream(request: ChatRequest): AsyncGenerator<StreamEvent> {
      const events = streamSse({
        label: config.label,
        baseUrl: config.baseUrl,
        url: `${config.baseUrl}/v1/messages`,
        headers: { "x-api-key": apiKey, "anthropic-version": ANTHROPIC_VERSION },
        body: {
          model: request.model,
          max_tokens: request.maxTokens,
          ...(request.system ? { system: request.system } : {}),
          messages: request.messages,
          stream: true,
        },
        idleTimeoutMs,
        signal: request.signal,
      });
      yield* parseAnthropicEvents(config.label, request.model, events);
    },
  };
}

export async function* parseAnthropicEvents(
  label: string,
  requestedModel: string,
  events: AsyncIterable<SseEvent>,
): AsyncGenerator<StreamEvent> {
  let model = requestedModel;
  let stopReason: string | null = null;
  const usage: Usage = { inputTokens: null, outputTokens: null };
  let started = false;
  for await (const event of events) {
    let payload: Payload;
    try {
      payload = JSON.parse(event.data) as Payload;
    } catch {
      throw new ProviderError("malformed_stream", `${label} sent a malformed stream; the reply was cut off.`);
    }
    if (payload === null || typeof payload !== "object") {
      throw new ProviderError("malformed_stream", `${label} sent a malformed stream; the reply was cut off.`);
    }
    const type = event.event === "message" ? payload.type : event.event;
    switch (type) {
      case "message_start":
        started = true;
        if (typeof payload.message?.model === "string") model = payload.message.model;
        usage.inputTokens = payload.message?.usage?.input_tokens ?? null;
        break;
      case "content_block_delta":
        if (!started)
          throw new ProviderError(
            "malformed_stream",
            `${label} sent a malformed stream; the reply was cut off.`,
          );
        // thinking_delta, signature_delta and input_json_delta are not part of the visible reply.
        if (
          payload.delta?.type === "text_delta" &&
          typeof payload.delta.text === "string" &&
          payload.delta.text
        ) {
          yield { type: "delta", text: payload.delta.text };
        }
        break;
      case "message_delta":
        if (payload.delta?.stop_reason) stopReason = payload.delta.stop_reason;
        if (typeof payload.usage?.output_tokens === "number")
          usage.outputTokens = payload.usage.output_tokens;
        break;
      case "message_stop":
        yield { type: "done", stopReason, usage, model };
        return;
      case "error": {
        const errorType = typeof payload.error?.type === "string" ? payload.error.type : "error";
        const message = typeof payload.error?.message === "string" ? payload.error.message.slice(0, 300) : "";
        const what = ERROR_TYPES[errorType] ?? `stopped with ${errorType}`;
        throw new ProviderError(
          errorType === "rate_limit_error" ? "rate_limited" : "stream_error",
          `${label} ${what} in the middle of the reply${message ? `: ${message}` : ""}. Try again shortly.`,
        );
      }
      default:
        break;
    }
  }
  throw new ProviderError("incomplete_stream", `${label}'s stream ended before the reply was complete.`);
}
