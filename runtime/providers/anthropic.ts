// Anthropic messages: POST {base}/v1/messages with `stream: true`, key in `x-api-key`. Named SSE
// events: message_start, content_block_start/delta/stop, message_delta (stop reason, usage),
// message_stop, ping, and `error` (e.g. overloaded_error) which can arrive mid-stream. Unknown
// events are ignored, as Anthropic's versioning policy asks.
import type { ProviderConfig } from "../config.ts";
import { ProviderError } from "./errors.ts";
import type { SseEvent } from "./sse.ts";
import { streamSse } from "./stream_http.ts";
import { parseToolArguments } from "./tool_arguments.ts";
import type { ChatProvider, ChatRequest, ChatTurn, StreamEvent, Usage } from "./types.ts";

export const ANTHROPIC_VERSION = "2023-06-01";

type Payload = {
  type?: string;
  index?: number;
  message?: { model?: string; usage?: { input_tokens?: number; output_tokens?: number } };
  content_block?: { type?: string; id?: unknown; name?: unknown };
  delta?: { type?: string; text?: unknown; partial_json?: unknown; stop_reason?: string | null };
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
          messages: anthropicMessages(request.messages),
          ...(request.tools?.length
            ? {
                tools: request.tools.map((tool) => ({
                  name: tool.name,
                  description: tool.description,
                  input_schema: tool.parameters,
                })),
              }
            : {}),
          stream: true,
        },
        idleTimeoutMs,
        signal: request.signal,
      });
      yield* parseAnthropicEvents(config.label, request.model, events);
    },
  };
}

type Block = Record<string, unknown>;

/**
 * Anthropic carries tool calls as `tool_use` blocks of the assistant's message and their results as
 * `tool_result` blocks of the next user message; consecutive results share one user message.
 */
export function anthropicMessages(
  turns: ChatTurn[],
): { role: "user" | "assistant"; content: string | Block[] }[] {
  const messages: { role: "user" | "assistant"; content: string | Block[] }[] = [];
  for (const turn of turns) {
    if (turn.role === "tool") {
      const block: Block = {
        type: "tool_result",
        tool_use_id: turn.toolCallId,
        content: turn.content,
        ...(turn.isError ? { is_error: true } : {}),
      };
      const last = messages[messages.length - 1];
      if (last?.role === "user" && Array.isArray(last.content)) last.content.push(block);
      else messages.push({ role: "user", content: [block] });
      continue;
    }
    if (turn.role === "assistant" && turn.toolCalls?.length) {
      const blocks: Block[] = turn.content ? [{ type: "text", text: turn.content }] : [];
      for (const call of turn.toolCalls) {
        blocks.push({ type: "tool_use", id: call.id, name: call.name, input: call.input });
      }
      messages.push({ role: "assistant", content: blocks });
      continue;
    }
    messages.push({ role: turn.role, content: turn.content });
  }
  return messages;
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
  const toolBlocks = new Map<number, { id: string; name: string; json: string }>();
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
      case "content_block_start":
        if (payload.content_block?.type === "tool_use") {
          const id = typeof payload.content_block.id === "string" ? payload.content_block.id : "";
          const name = typeof payload.content_block.name === "string" ? payload.content_block.name : "";
          toolBlocks.set(payload.index ?? 0, { id: id || `toolu_${payload.index ?? 0}`, name, json: "" });
        }
        break;
      case "content_block_stop": {
        const block = toolBlocks.get(payload.index ?? 0);
        if (block) {
          toolBlocks.delete(payload.index ?? 0);
          yield {
            type: "tool_call",
            call: {
              id: block.id,
              name: block.name,
              input: parseToolArguments(label, block.name, block.json),
            },
          };
        }
        break;
      }
      case "content_block_delta":
        if (!started)
          throw new ProviderError(
            "malformed_stream",
            `${label} sent a malformed stream; the reply was cut off.`,
          );
        if (payload.delta?.type === "input_json_delta" && typeof payload.delta.partial_json === "string") {
          const block = toolBlocks.get(payload.index ?? 0);
          if (block) block.json += payload.delta.partial_json;
          if (block && block.json.length > 1_048_576) {
            throw new ProviderError("malformed_stream", `${label} sent tool arguments over 1 MiB.`);
          }
          break;
        }
        // thinking_delta and signature_delta are not part of the visible reply.
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
