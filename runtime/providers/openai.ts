// OpenAI-compatible chat completions (OpenAI, OpenRouter, Gemini's OpenAI endpoint): POST
// {base}/chat/completions with `stream: true`; each SSE `data:` is a chunk whose
// choices[0].delta.content carries text, and the literal `data: [DONE]` ends the stream. An error
// that happens after the response started arrives as a chunk with an `error` object.
import type { ProviderConfig } from "../config.ts";
import { ProviderError } from "./errors.ts";
import { streamSse } from "./stream_http.ts";
import { parseToolArguments } from "./tool_arguments.ts";
import type { ChatProvider, ChatRequest, ChatTurn, StreamEvent, ToolSpec, Usage } from "./types.ts";

type ToolCallDelta = { index?: number; id?: string; function?: { name?: string; arguments?: string } };

type Chunk = {
  model?: string;
  choices?: {
    delta?: { content?: unknown; tool_calls?: ToolCallDelta[] };
    finish_reason?: string | null;
  }[];
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
        ...request.messages.map(openAiMessage),
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
          ...(request.tools?.length ? { tools: request.tools.map(openAiTool) } : {}),
        },
        idleTimeoutMs,
        signal: request.signal,
      });
      yield* parseOpenAiEvents(config.label, request.model, events);
    },
  };
}

function openAiMessage(turn: ChatTurn): Record<string, unknown> {
  if (turn.role === "tool") return { role: "tool", tool_call_id: turn.toolCallId, content: turn.content };
  if (turn.role === "assistant" && turn.toolCalls?.length) {
    return {
      role: "assistant",
      content: turn.content || null,
      tool_calls: turn.toolCalls.map((call) => ({
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: JSON.stringify(call.input) },
      })),
    };
  }
  return { role: turn.role, content: turn.content };
}

function openAiTool(tool: ToolSpec): Record<string, unknown> {
  return {
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
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
  // Tool calls arrive in fragments keyed by index (id and name first, then pieces of the JSON
  // arguments); they are complete only when the stream finishes.
  const calls = new Map<number, { id: string; name: string; args: string }>();
  const finishedCalls = function* (): Generator<StreamEvent> {
    for (const [index, call] of [...calls.entries()].sort(([a], [b]) => a - b)) {
      yield {
        type: "tool_call",
        call: {
          id: call.id || `call_${index}`,
          name: call.name,
          input: parseToolArguments(label, call.name, call.args),
        },
      };
    }
    calls.clear();
  };
  for await (const event of events) {
    if (event.data === "[DONE]") {
      yield* finishedCalls();
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
    for (const fragment of choice?.delta?.tool_calls ?? []) {
      const index = typeof fragment.index === "number" ? fragment.index : 0;
      const call = calls.get(index) ?? { id: "", name: "", args: "" };
      if (typeof fragment.id === "string" && fragment.id) call.id = fragment.id;
      if (typeof fragment.function?.name === "string") call.name += fragment.function.name;
      if (typeof fragment.function?.arguments === "string") call.args += fragment.function.arguments;
      if (call.args.length > 1_048_576) {
        throw new ProviderError("malformed_stream", `${label} sent tool arguments over 1 MiB.`);
      }
      calls.set(index, call);
    }
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
    yield* finishedCalls();
    yield { type: "done", stopReason, usage, model };
    return;
  }
  throw new ProviderError("incomplete_stream", `${label}'s stream ended before the reply was complete.`);
}
