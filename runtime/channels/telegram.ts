// The Telegram connector: long-polls getUpdates, answers each text message from an allowed chat with
// a chat turn (one conversation per Telegram chat, `telegram:<chat id>`), and tells any other chat
// that the bot is private, with the chat id to allow. The update offset is stored before a message
// is handled, so a restart never answers the same message twice.
import type { Logger } from "../../common/log.ts";
import type { ChatService } from "../chat.ts";
import { ProviderError } from "../providers/errors.ts";
import type { Channels } from "../store/channels.ts";
import { splitForTelegram, type TelegramApi, TelegramError, type TelegramMessage } from "./telegram_api.ts";

export type ConnectorStatus =
  | "stopped"
  | "starting"
  | "polling"
  | "unauthorized"
  | "conflict"
  | "rate_limited"
  | "unreachable"
  | "error";

export type TelegramConnectorOptions = {
  api: TelegramApi;
  chat: ChatService;
  channels: Channels;
  log: Logger;
  allowedChatIds: number[];
  pollTimeoutSeconds: number;
  onStatus(status: ConnectorStatus, detail: string | null): void;
};

/** Chats answered at once; more wait for a slot before the next poll. */
const MAX_IN_FLIGHT = 8;
const MAX_BACKOFF_MS = 30_000;

export class TelegramConnector {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | null = null;
  private readonly warnedChats = new Set<number>();

  constructor(private readonly options: TelegramConnectorOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    this.options.onStatus("stopped", null);
  }

  private async run(): Promise<void> {
    const { api, channels, onStatus } = this.options;
    const signal = this.abort.signal;
    let offset = numberOrNull(channels.get("telegram")?.state.offset);
    let failures = 0;
    onStatus("starting", null);
    while (!signal.aborted) {
      let updates: Awaited<ReturnType<TelegramApi["getUpdates"]>>;
      try {
        updates = await api.getUpdates(offset, this.options.pollTimeoutSeconds, signal);
      } catch (error) {
        if (signal.aborted) break;
        const failure =
          error instanceof TelegramError
            ? error
            : new TelegramError("api", "Telegram sent an unexpected answer.");
        if (failure.kind === "unauthorized") {
          onStatus("unauthorized", failure.message);
          this.options.log.warn("telegram connector stopped", { reason: failure.kind });
          return;
        }
        failures++;
        const waitMs =
          failure.retryAfterSeconds !== null
            ? failure.retryAfterSeconds * 1000
            : Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 6));
        onStatus(failure.kind === "api" ? "error" : failure.kind, failure.message);
        this.options.log.warn("telegram poll failed", { reason: failure.kind, retry_ms: waitMs });
        await sleep(waitMs, signal);
        continue;
      }
      failures = 0;
      onStatus("polling", null);
      for (const update of updates) {
        offset = update.update_id + 1;
        channels.updateState("telegram", { offset });
        if (update.message?.text) await this.dispatch(update.message);
      }
    }
  }

  private async dispatch(message: TelegramMessage): Promise<void> {
    while (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
    const task = this.answer(message).catch((error) => {
      this.options.log.error("telegram message failed", {
        chat_id: message.chat.id,
        error: error instanceof Error ? error.name : "unknown",
      });
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private async answer(message: TelegramMessage): Promise<void> {
    const { api, chat } = this.options;
    const chatId = message.chat.id;
    const signal = this.abort.signal;
    if (!this.options.allowedChatIds.includes(chatId)) {
      // One notice per chat and process, so a stranger cannot use the bot to make it spam.
      if (this.warnedChats.has(chatId)) return;
      this.warnedChats.add(chatId);
      await api.sendMessage(
        chatId,
        `This assistant is private. To use it from this chat, add the chat id ${chatId} to the allowed chats in clawfleet.`,
        signal,
      );
      return;
    }
    const text = (message.text ?? "").trim();
    if (text === "/start") {
      await api.sendMessage(chatId, "Hello! I am your clawfleet assistant. Send me a message.", signal);
      return;
    }
    let reply: string;
    try {
      const result = await chat.run({
        conversationId: `telegram:${chatId}`,
        channel: "telegram",
        text,
        signal,
      });
      reply = result.text || "(The model returned an empty reply.)";
    } catch (error) {
      if (signal.aborted) return;
      if (!(error instanceof ProviderError)) throw error;
      reply = `Sorry, I could not answer: ${error.message}`;
    }
    for (const part of splitForTelegram(reply)) await api.sendMessage(chatId, part, signal);
  }
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) ? value : null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
