// The shape every provider adapter shares: a conversation in (text turns, and within one chat turn the
// tool calls the model asked for and their results), then text deltas, complete tool calls and one
// `done` out. Each adapter translates this to and from its own wire format.

export type ToolCall = { id: string; name: string; input: Record<string, unknown> };

export type ChatTurn =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[] }
  | { role: "tool"; toolCallId: string; name: string; content: string; isError?: boolean };

/** A tool the model may call: its JSON Schema is sent as is in both formats. */
export type ToolSpec = { name: string; description: string; parameters: Record<string, unknown> };

export type ChatRequest = {
  system: string;
  messages: ChatTurn[];
  model: string;
  maxTokens: number;
  tools?: ToolSpec[];
  signal: AbortSignal;
};

export type Usage = { inputTokens: number | null; outputTokens: number | null };

export type StreamEvent =
  | { type: "delta"; text: string }
  /** Emitted once the call's arguments have fully arrived. */
  | { type: "tool_call"; call: ToolCall }
  | { type: "done"; stopReason: string | null; usage: Usage | null; model: string };

export type ChatProvider = {
  id: string;
  label: string;
  model: string;
  stream(request: ChatRequest): AsyncGenerator<StreamEvent>;
};
