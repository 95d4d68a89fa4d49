// One gateway connection: answers each client message, runs chats with their deltas streamed back,
// and cancels what is still running when the socket closes.
import type { Logger } from "../../common/log.ts";
import { ChannelError, type ChannelManager } from "../channels/manager.ts";
import type { ChatService } from "../chat.ts";
import type { RuntimeConfig } from "../config.ts";
import { ProviderError } from "../providers/errors.ts";
import { listProviders } from "../providers/registry.ts";
import type { Scheduler } from "../schedules/scheduler.ts";
import type { Scrubber } from "../scrub.ts";
import type { History } from "../store/history.ts";
import type { Memory } from "../store/memory.ts";
import type { Schedules } from "../store/schedules.ts";
import type { RuntimeSettings } from "../store/settings.ts";
import type { ToolCalls } from "../store/tool_calls.ts";
import type { ScheduleTools } from "../tools/schedule_tools.ts";
import { type ClientMessage, ProtocolError, parseClientMessage } from "./protocol.ts";

/** Chats one connection may run at once. */
const MAX_CHATS = 4;
/** An approval nobody answers counts as declined after this long. */
export const APPROVAL_TIMEOUT_MS = 5 * 60_000;

export type GatewayDeps = {
  config: RuntimeConfig;
  version: string;
  chat: ChatService;
  history: History;
  memory: Memory;
  channels: ChannelManager;
  settings: RuntimeSettings;
  schedules: Schedules;
  scheduler: Scheduler;
  scheduleTools: ScheduleTools;
  toolCalls: ToolCalls;
  scrubber: Scrubber;
  log: Logger;
};

type Send = (message: Record<string, unknown>) => void;

export class GatewaySession {
  private readonly chats = new Map<string, AbortController>();
  private readonly approvals = new Map<string, (approved: boolean) => void>();
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly sendRaw: (text: string) => void,
  ) {
    this.unsubscribe = deps.scheduler.onFired((event) => this.send({ type: "schedule.fired", ...event }));
  }

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
      default_provider: this.deps.settings.defaultProvider() ?? config.defaultProvider,
    });
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const resolve of this.approvals.values()) resolve(false);
    this.approvals.clear();
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
        const first = messages[0]?.id ?? 0;
        const last = message.before === undefined ? Number.MAX_SAFE_INTEGER : message.before - 1;
        const toolCalls = this.deps.toolCalls.forConversation(message.conversation_id, first, last);
        this.send({
          type: "history.messages",
          id,
          conversation_id: message.conversation_id,
          messages,
          tool_calls: toolCalls.map((call) => ({ ...call, input: safeJson(call.input) })),
        });
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
        this.send({ type: "channel", id, ...(await channels.configureTelegram(message.settings)) });
        return;
      case "channel.delete":
        if (!(await channels.remove(message.channel))) return this.notFound(id, "channel configuration");
        this.send({ type: "channel.deleted", id, channel: message.channel });
        return;
      case "tool.approve": {
        const resolve = this.approvals.get(message.approval_id);
        if (!resolve) return this.notFound(id, "pending approval");
        resolve(message.approved);
        return;
      }
      case "settings.get":
        this.send({ type: "settings", id, ...this.deps.settings.describe() });
        return;
      case "settings.set":
        this.deps.settings.update(message.update);
        this.send({ type: "settings", id, ...this.deps.settings.describe() });
        return;
      case "schedule.list":
        this.send({
          type: "schedules",
          id,
          schedules: this.deps.schedules.list(),
          next_wake_at: this.deps.scheduler.nextWake(),
        });
        return;
      case "schedule.create": {
        const outcome = this.deps.scheduleTools.run("schedule_create", message.input, "schedules");
        if (outcome.status !== "ok") {
          this.send({
            type: "error",
            id,
            error: { code: "bad_request", message: outcome.output.replace(/^error: /, "") },
          });
          return;
        }
        this.send({
          type: "schedules",
          id,
          schedules: this.deps.schedules.list(),
          next_wake_at: this.deps.scheduler.nextWake(),
        });
        return;
      }
      case "schedule.delete":
        if (!this.deps.schedules.delete(message.schedule_id)) return this.notFound(id, "schedule");
        this.deps.scheduler.arm();
        this.send({ type: "schedule.deleted", id, schedule_id: message.schedule_id });
        return;
    }
  }

  /** Sends an approval request and waits for `tool.approve`; a closed socket or silence declines. */
  private askApproval(
    chatId: string,
    conversationId: string,
    call: { id: string; name: string; input: Record<string, unknown> },
    signal: AbortSignal,
  ): Promise<boolean> {
    const approvalId = `a-${crypto.randomUUID()}`;
    return new Promise<boolean>((resolve) => {
      const settle = (approved: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.approvals.delete(approvalId);
        resolve(approved);
      };
      const onAbort = () => settle(false);
      const timer = setTimeout(() => settle(false), APPROVAL_TIMEOUT_MS);
      signal.addEventListener("abort", onAbort, { once: true });
      this.approvals.set(approvalId, settle);
      this.send({
        type: "chat.tool_approval",
        id: chatId,
        conversation_id: conversationId,
        approval_id: approvalId,
        call_id: call.id,
        name: call.name,
        input: call.input,
      });
    });
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
          onToolCall: (call) =>
            this.send({
              type: "chat.tool_call",
              id,
              conversation_id: conversationId,
              call_id: call.id,
              name: call.name,
              input: call.input,
            }),
          onToolResult: (call, outcome) =>
            this.send({
              type: "chat.tool_result",
              id,
              conversation_id: conversationId,
              call_id: call.id,
              name: call.name,
              status: outcome.status,
              output: outcome.output,
            }),
          approve: (call) => this.askApproval(id, conversationId, call, controller.signal),
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
