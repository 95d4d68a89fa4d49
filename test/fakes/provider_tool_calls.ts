// The fake provider's tool calls (provider.ts): each API's streamed shape for a scripted
// `tool_calls` reply, and the checks the real APIs make on tool results (a result must answer a call
// of the message right before it).
import type { FakeReply } from "./provider.ts";

type ToolCallsReply = Extract<FakeReply, { kind: "tool_calls" }>;

const sse = (data: unknown, event?: string) =>
  `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

function splitIn(text: string, pieces: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, pieces)));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [""];
}

/** OpenAI: `delta.tool_calls` fragments keyed by index, finish_reason "tool_calls", then [DONE]. */
export function openAiToolCallParts(
  reply: ToolCallsReply,
  chunk: (delta: Record<string, unknown>, finish?: string | null) => string,
): string[] {
  const parts: string[] = [];
  reply.calls.forEach((call, index) => {
    const id = call.id ?? `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
    parts.push(
      chunk({
        tool_calls: [{ index, id, type: "function", function: { name: call.name, arguments: "" } }],
      }),
    );
    for (const piece of splitIn(JSON.stringify(call.input), reply.argumentChunks ?? 3)) {
      parts.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  parts.push(chunk({}, "tool_calls"));
  parts.push(sse("[DONE]"));
  return parts;
}

/** Anthropic: `tool_use` blocks with `input_json_delta` pieces, stop_reason "tool_use". */
export function anthropicToolCallParts(reply: ToolCallsReply, outputTokens: number): string[] {
  const parts: string[] = [];
  parts.push(sse({ type: "content_block_stop", index: 0 }, "content_block_stop"));
  reply.calls.forEach((call, i) => {
    const index = i + 1;
    const id = call.id ?? `toolu_${crypto.randomUUID().replaceAll("-", "").slice(0, 22)}`;
    parts.push(
      sse(
        {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id, name: call.name, input: {} },
        },
        "content_block_start",
      ),
    );
    for (const piece of splitIn(JSON.stringify(call.input), reply.argumentChunks ?? 3)) {
      parts.push(
        sse(
          { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } },
          "content_block_delta",
        ),
      );
    }
    parts.push(sse({ type: "content_block_stop", index }, "content_block_stop"));
  });
  parts.push(
    sse(
      {
        type: "message_delta",
        delta: { stop_reason: "tool_use", stop_sequence: null },
        usage: { output_tokens: outputTokens },
      },
      "message_delta",
    ),
  );
  parts.push(sse({ type: "message_stop" }, "message_stop"));
  return parts;
}

type AnyMessage = { role?: string; content?: unknown; tool_calls?: { id?: string }[]; tool_call_id?: string };

/** As OpenAI does: a `tool` message must answer a tool call of the assistant message before it. */
export function openAiToolProblem(messages: AnyMessage[]): string | null {
  const open = new Set<string>();
  for (const message of messages) {
    if (message.role === "assistant") {
      open.clear();
      for (const call of message.tool_calls ?? []) if (call.id) open.add(call.id);
    } else if (message.role === "tool") {
      if (!message.tool_call_id || !open.has(message.tool_call_id)) {
        return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
      }
      open.delete(message.tool_call_id);
    } else if (open.size > 0) {
      return "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.";
    }
  }
  return null;
}

/** As Anthropic does: each tool_use is answered by a tool_result in the very next (user) message. */
export function anthropicToolProblem(messages: AnyMessage[]): string | null {
  const blocks = (m: AnyMessage | undefined) =>
    Array.isArray(m?.content) ? (m.content as { type?: string; id?: string; tool_use_id?: string }[]) : [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    const uses = message?.role === "assistant" ? blocks(message).filter((b) => b.type === "tool_use") : [];
    const results = blocks(messages[i + 1]).filter((b) => b.type === "tool_result");
    for (const use of uses) {
      if (!results.some((r) => r.tool_use_id === use.id)) {
        return `messages.${i + 1}: tool_use ids were found without tool_result blocks immediately after: ${use.id}`;
      }
    }
    if (message?.role === "user") {
      const previous = i > 0 ? blocks(messages[i - 1]).filter((b) => b.type === "tool_use") : [];
      for (const result of blocks(message).filter((b) => b.type === "tool_result")) {
        if (!previous.some((use) => use.id === result.tool_use_id)) {
          return `messages.${i}: unexpected tool_use_id found in tool_result blocks: ${result.tool_use_id}`;
        }
      }
    }
  }
  return null;
}
