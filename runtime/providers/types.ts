// The shape every provider adapter shares: a conversation in, text deltas then one `done` out.

export type ChatTurn = { role: "user" | "assistant"; content: string };

export type ChatRequest = {
  system: string;
  messages: ChatTurn[];
  model: string;
  maxTokens: number;
  signal: AbortSignal;
};

export type Usage = { inputTokens: number | null; outputTokens: number | null };

export type StreamEvent =
  | { type: "delta"; text: string }
  | { type: "done"; stopReason: string | null; usage: Usage | null; model: string };

export type ChatProvider = {
  id: string;
  label: string;
  model: string;
  stream(request: ChatRequest): AsyncGenerator<StreamEvent>;
};
