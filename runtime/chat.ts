// One chat turn, whatever channel it came from: store the user's message, send the conversation (with
// the memory document in the system prompt) to the provider, pass the streamed text on, run the tools
// the model calls and send their results back (a few rounds at most), and store the finished reply.
// Turns of one conversation run one after another.
import type { Logger } from "../common/log.ts";
import type { RuntimeConfig } from "./config.ts";
import { ProviderError } from "./providers/errors.ts";
import { resolveProvider } from "./providers/registry.ts";
import type { ChatTurn, StreamEvent, ToolCall, Usage } from "./providers/types.ts";
import type { History, StoredMessage } from "./store/history.ts";
import type { Memory } from "./store/memory.ts";
import type { RuntimeSettings } from "./store/settings.ts";
import type { ToolCalls } from "./store/tool_calls.ts";
import type { ToolBox, ToolOutcome } from "./tools/toolbox.ts";

export const MAX_MESSAGE_CHARS = 32_000;
/** How much earlier conversation goes with each request. */
const CONTEXT_MESSAGES = 40;
const CONTEXT_CHARS = 120_000;
/** Provider round trips one turn may take; each round may call tools. */
export const MAX_TOOL_ROUNDS = 8;

export type ChatInput = {
  conversationId: string;
  channel: string;
  text: string;
  provider?: string;
  model?: string;
  signal: AbortSignal;
};

export type ChatStart = { conversationId: string; provider: string; model: string; userMessageId: number };

export type ChatResult = {
  conversationId: string;
  messageId: number;
  text: string;
  provider: string;
  model: string;
  stopReason: string | null;
  usage: Usage | null;
};

export type ChatCallbacks = {
  onStart?(start: ChatStart): void;
  onDelta?(text: string): void;
  onToolCall?(call: ToolCall): void;
  onToolResult?(call: ToolCall, outcome: ToolOutcome): void;
  /** Asks the person on this channel to approve a call; absent where no one can answer. */
  approve?(call: ToolCall): Promise<boolean>;
};

export type ChatTools = { box: ToolBox; calls: ToolCalls };

export class ChatService {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly config: RuntimeConfig,
    private readonly history: History,
    private readonly memory: Memory,
    private readonly log: Logger,
    private readonly tools: ChatTools | null = null,
    private readonly settings: RuntimeSettings | null = null,
  ) {}

  /** True while any turn runs or waits: the container should not be frozen under it. */
  busy(): boolean {
    return this.queues.size > 0;
  }

  /** Throws ProviderError for anything the user should be told. */
  run(input: ChatInput, callbacks: ChatCallbacks = {}): Promise<ChatResult> {
    const previous = this.queues.get(input.conversationId) ?? Promise.resolve();
    const turn = previous.catch(() => {}).then(() => this.turn(input, callbacks));
    const tail = turn.catch(() => {});
    this.queues.set(input.conversationId, tail);
    void tail.then(() => {
      if (this.queues.get(input.conversationId) === tail) this.queues.delete(input.conversationId);
    });
    return turn;
  }

  private async turn(input: ChatInput, callbacks: ChatCallbacks): Promise<ChatResult> {
    if (input.signal.aborted) throw new ProviderError("cancelled", "The reply was cancelled.");
    // The user's defaults (from their clawfleet settings) apply when the message names no provider.
    const preferred = input.provider ? null : (this.settings?.defaultProvider() ?? null);
    const provider = resolveProvider(this.config, input.provider ?? preferred ?? undefined);
    const preferredModel = input.provider ? null : this.settings?.defaultModel();
    const model = input.model || preferredModel || provider.model;
    this.history.ensureConversation(input.conversationId, input.channel, input.text);
    const userMessage = this.history.addMessage(input.conversationId, "user", input.text);
    callbacks.onStart?.({
      conversationId: input.conversationId,
      provider: provider.id,
      model,
      userMessageId: userMessage.id,
    });

    const started = performance.now();
    const turns = contextTurns(this.history.messages(input.conversationId, CONTEXT_MESSAGES));
    let text = "";
    for (let round = 0; round < MAX_TOOL_ROUNDS; round++) {
      // The last round offers no tools, so the model has to answer in words.
      const offerTools = this.tools !== null && round < MAX_TOOL_ROUNDS - 1;
      let roundText = "";
      const calls: ToolCall[] = [];
      let done: Extract<StreamEvent, { type: "done" }> | null = null;
      for await (const event of provider.stream({
        system: this.systemPrompt(),
        messages: turns,
        model,
        maxTokens: this.config.maxTokens,
        ...(offerTools && this.tools ? { tools: this.tools.box.specs() } : {}),
        signal: input.signal,
      })) {
        if (event.type === "delta") {
          // Text after a round of tools starts a new paragraph of the same reply.
          const piece = roundText === "" && text !== "" ? `\n\n${event.text}` : event.text;
          roundText += event.text;
          text += piece;
          callbacks.onDelta?.(piece);
        } else if (event.type === "tool_call") {
          calls.push(event.call);
        } else {
          done = event;
          break;
        }
      }
      if (!done) {
        throw new ProviderError(
          "incomplete_stream",
          `${provider.label}'s stream ended before the reply was complete.`,
        );
      }
      if (calls.length === 0 || !offerTools || !this.tools) {
        return this.finish(input, provider.id, text, done, started);
      }
      turns.push({ role: "assistant", content: roundText, toolCalls: calls });
      for (const call of calls) {
        callbacks.onToolCall?.(call);
        const outcome = await this.tools.box.run(call, {
          conversationId: input.conversationId,
          signal: input.signal,
          approve: callbacks.approve,
        });
        if (input.signal.aborted) throw new ProviderError("cancelled", "The reply was cancelled.");
        this.tools.calls.add({
          conversation_id: input.conversationId,
          after_message_id: userMessage.id,
          call_id: call.id,
          name: call.name,
          input: JSON.stringify(call.input),
          output: outcome.output,
          status: outcome.status,
        });
        callbacks.onToolResult?.(call, outcome);
        turns.push({
          role: "tool",
          toolCallId: call.id,
          name: call.name,
          content: outcome.output,
          isError: outcome.status !== "ok",
        });
      }
    }
    throw new ProviderError(
      "incomplete_stream",
      `${provider.label} kept calling tools; the reply was stopped.`,
    );
  }

  private finish(
    input: ChatInput,
    providerId: string,
    text: string,
    done: Extract<StreamEvent, { type: "done" }>,
    started: number,
  ): ChatResult {
    const reply = this.history.addMessage(input.conversationId, "assistant", text, {
      provider: providerId,
      model: done.model,
    });
    this.log.info("chat turn finished", {
      channel: input.channel,
      provider: providerId,
      model: done.model,
      ms: Math.round(performance.now() - started),
      chars: text.length,
      stop_reason: done.stopReason,
    });
    return {
      conversationId: input.conversationId,
      messageId: reply.id,
      text,
      provider: providerId,
      model: done.model,
      stopReason: done.stopReason,
      usage: done.usage,
    };
  }

  private systemPrompt(): string {
    const base = this.settings?.systemPrompt() || this.config.systemPrompt;
    const memory = this.memory.get().content.trim();
    if (!memory) return base;
    return `${base}\n\nThe user's memory notes (kept across conversations):\n${memory}`;
  }
}

/**
 * The stored messages as provider turns: within a character budget (newest kept), consecutive turns
 * of one role merged (a failed reply leaves two user turns in a row), starting with a user turn, as
 * Anthropic requires.
 */
export function contextTurns(messages: StoredMessage[]): ChatTurn[] {
  const kept: StoredMessage[] = [];
  let chars = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as StoredMessage;
    chars += message.content.length;
    if (chars > CONTEXT_CHARS && kept.length > 0) break;
    kept.unshift(message);
  }
  const turns: ChatTurn[] = [];
  for (const message of kept) {
    if (message.content === "") continue;
    const last = turns[turns.length - 1];
    if (last && last.role === message.role) last.content += `\n\n${message.content}`;
    else turns.push({ role: message.role, content: message.content });
  }
  while (turns[0]?.role === "assistant") turns.shift();
  return turns;
}
