// One chat turn, whatever channel it came from: store the user's message, send the conversation (with
// the memory document in the system prompt) to the provider, pass the streamed text on, and store
// the finished reply. Turns of one conversation run one after another.
import type { Logger } from "../common/log.ts";
import type { RuntimeConfig } from "./config.ts";
import { ProviderError } from "./providers/errors.ts";
import { resolveProvider } from "./providers/registry.ts";
import type { ChatTurn, Usage } from "./providers/types.ts";
import type { History, StoredMessage } from "./store/history.ts";
import type { Memory } from "./store/memory.ts";

export const MAX_MESSAGE_CHARS = 32_000;
/** How much earlier conversation goes with each request. */
const CONTEXT_MESSAGES = 40;
const CONTEXT_CHARS = 120_000;

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
};

export class ChatService {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly config: RuntimeConfig,
    private readonly history: History,
    private readonly memory: Memory,
    private readonly log: Logger,
  ) {}

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
    const provider = resolveProvider(this.config, input.provider);
    const model = input.model || provider.model;
    this.history.ensureConversation(input.conversationId, input.channel, input.text);
    const userMessage = this.history.addMessage(input.conversationId, "user", input.text);
    callbacks.onStart?.({
      conversationId: input.conversationId,
      provider: provider.id,
      model,
      userMessageId: userMessage.id,
    });

    const started = performance.now();
    let text = "";
    for await (const event of provider.stream({
      system: this.systemPrompt(),
      messages: contextTurns(this.history.messages(input.conversationId, CONTEXT_MESSAGES)),
      model,
      maxTokens: this.config.maxTokens,
      signal: input.signal,
    })) {
      if (event.type === "delta") {
        text += event.text;
        callbacks.onDelta?.(event.text);
        continue;
      }
      const reply = this.history.addMessage(input.conversationId, "assistant", text, {
        provider: provider.id,
        model: event.model,
      });
      this.log.info("chat turn finished", {
        channel: input.channel,
        provider: provider.id,
        model: event.model,
        ms: Math.round(performance.now() - started),
        chars: text.length,
        stop_reason: event.stopReason,
      });
      return {
        conversationId: input.conversationId,
        messageId: reply.id,
        text,
        provider: provider.id,
        model: event.model,
        stopReason: event.stopReason,
        usage: event.usage,
      };
    }
    throw new ProviderError(
      "incomplete_stream",
      `${provider.label}'s stream ended before the reply was complete.`,
    );
  }

  private systemPrompt(): string {
    const memory = this.memory.get().content.trim();
    if (!memory) return this.config.systemPrompt;
    return `${this.config.systemPrompt}\n\nThe user's memory notes (kept across conversations):\n${memory}`;
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
