// One gateway connection: answers each client message, runs chats with their deltas streamed back,
// and cancels what is still running when the socket closes.
import type { Logger } from "../../common/log.ts";
import { ChannelError, type ChannelManager } from "../channels/manager.ts";
import type { ChatService } from "../chat.ts";
import type { RuntimeConfig } from "../config.ts";
import { ProviderError } from "../providers/errors.ts";
import { listProviders } from "../providers/registry.ts";
import type { Scrubber } from "../scrub.ts";
import type { History } from "../store/history.ts";
import type { Memory } from "../store/memory.ts";
import { type ClientMessage, ProtocolError, parseClientMessage } from "./protocol.ts";

/** Chats one connection may run at once. */
const MAX_CHATS = 4;

export type GatewayDeps = {
  config: RuntimeConfig;
  version: string;
  chat: ChatService;
  history: History;
  memory: Memory;
  channels: ChannelManager;
  scrubber: Scrubber;
  log: Logger;
};

type Send = (message: Record<string, unknown>) => void;

export class GatewaySession {
  private readonly chats = new Map<string, AbortController>();
  private closed = false;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly sendRaw: (text: string) => void,
  ) {}

  /** Everything leaving the runtime passes the scrubber, whatever a provider or connector put in it. */
  private readonly send: Send = (message) => {
    if (!this.closed) this.sendRaw(this.deps.scrubber.scrub(JSON.stringify(message)));
  };

  hello(): void {
    const { config, version } = this.deps;
    this.send({
      type: "hello",
      version,
      providers: listProviders(config),
      default_provider: config.defaultProvider,
    });
  }

  close(): void {
    this.closed = true;
    for (const controller of this.chats.values()) controller.abort();
    this.chats.clear();
  }

  async handle(frame: string | Buffer): Promise<void> {
    let message: ClientMessage;
    try {
      message = parseClientMessage(frame);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.send({ type: "error", id: error.requestId, error: { code: error.code, message: error.message } });
      return;
    }
    try {
      await this.dispatch(message);
    } catch (error) {
      if (error instanceof ChannelError) {
        this.send({ type: "error", id: message.id, error: { code: error.code, message: error.message } });
        return;
      }
      if (error instanceof RangeError) {
        this.send({ type: "error", id: message.id, error: { code: "bad_request", message: error.message } });
        return;
      }
      this.deps.log.error("gateway message failed", { type: message.type, error });
      this.send({
        type: "error",
        id: message.id,
        error: { code: "internal", message: "the runtime failed to do that" },
      });
    }
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    const { history, memory, channels } = this.deps;
    const id = message.id;
    switch (message.type) {
      case "ping":
        this.send({ type: "pong", id });
        return;
      case "chat":
        return this.chat(message);
      case "chat.cancel": {
        const controller = id ? this.chats.get(id) : undefined;
        if (!controller) {
          this.send({
            type: "error",
            id,
            error: { code: "not_found", message: "no running chat has that id" },
          });
          return;
        }
        controller.abort();
        return;
      }
      case "history.list":
        this.send({ type: "history.list", id, conversations: history.listConversations(message.limit) });
        return;
      case "history.get": {
        if (!history.getConversation(message.conversation_id)) return this.notFound(id, "conversation");
        const messages = history.messages(message.conversation_id, message.limit, message.before);
        this.send({ type: "history.messages", id, conversation_id: message.conversation_id, messages });
        return;
      }
      case "history.delete":
        if (!history.deleteConversation(message.conversation_id)) return this.notFound(id, "conversation");
        this.send({ type: "history.deleted", id, conversation_id: message.conversation_id });
        return;
      case "memory.get":
        this.send({ type: "memory", id, ...memory.get() });
        return;
      case "memory.set":
        this.send({ type: "memory", id, ...memory.set(message.content) });
        return;
      case "channel.get":
        this.send({ type: "channel", id, ...channels.describe(message.channel) });
        return;
      case "channel.set":
        this.send({ type: "channel", id, ...(await channels.configure(message.channel, message.settings)) });
        return;
      case "channel.webhook":
        await channels.setWebhookAddress(message.webhook_base);
        this.send({ type: "channels", id, ...channels.overview() });
        return;
      case "channel.list":
        this.send({ type: "channels", id, ...channels.overview() });
        return;
      case "channel.delete":
        if (!(await channels.remove(message.channel))) return this.notFound(id, "channel configuration");
        this.send({ type: "channel.deleted", id, channel: message.channel });
        return;
    }
  }

  private notFound(id: string | null, what: string): void {
    this.send({ type: "error", id, error: { code: "not_found", message: `no such ${what}` } });
  }

  private async chat(message: Extract<ClientMessage, { type: "chat" }>): Promise<void> {
    const id = message.id ?? crypto.randomUUID();
    if (this.chats.has(id)) {
      this.send({
        type: "error",
        id,
        error: { code: "bad_request", message: "a chat with this id is running" },
      });
      return;
    }
    if (this.chats.size >= MAX_CHATS) {
      this.send({
        type: "error",
        id,
        error: { code: "too_many_chats", message: `at most ${MAX_CHATS} chats can run at once` },
      });
      return;
    }
    const conversationId = message.conversation_id ?? crypto.randomUUID();
    const controller = new AbortController();
    this.chats.set(id, controller);
    let seq = 0;
    try {
      const result = await this.deps.chat.run(
        {
          conversationId,
          channel: "gateway",
          text: message.text,
          provider: message.provider,
          model: message.model,
          signal: controller.signal,
        },
        {
          onStart: (start) =>
            this.send({
              type: "chat.started",
              id,
              conversation_id: start.conversationId,
              provider: start.provider,
              model: start.model,
            }),
          onDelta: (text) =>
            this.send({ type: "chat.delta", id, conversation_id: conversationId, seq: seq++, text }),
        },
      );
      this.send({
        type: "chat.done",
        id,
        conversation_id: conversationId,
        message_id: result.messageId,
        text: result.text,
        provider: result.provider,
        model: result.model,
        stop_reason: result.stopReason,
        usage: result.usage && {
          input_tokens: result.usage.inputTokens,
          output_tokens: result.usage.outputTokens,
        },
      });
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.deps.log.warn("chat failed", { code: error.code, status: error.status });
      this.send({
        type: "chat.error",
        id,
        conversation_id: conversationId,
        error: {
          code: error.code,
          message: error.message,
          ...(error.status === null ? {} : { status: error.status }),
          ...(error.retryAfterSeconds === null ? {} : { retry_after: error.retryAfterSeconds }),
        },
      });
    } finally {
      this.chats.delete(id);
    }
  }
}
