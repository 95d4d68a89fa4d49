// The Telegram connector. With a public webhook URL it registers it with `setWebhook` and a random
// `secret_token`, and Telegram POSTs each update through the platform's hook route (so a frozen
// container is woken); the header is checked in constant time. Without one it long-polls getUpdates
// (the server then keeps the container from idle-freezing). Each allowed chat is one conversation,
// `telegram:<chat id>`; any other chat is told, once, that the bot is private. The polling offset is
// stored before a message is handled, so a restart never answers the same message twice.
import { constantTimeEqual } from "../../common/crypto.ts";
import type { Logger } from "../../common/log.ts";
import type { ChatService } from "../chat.ts";
import type { Channels } from "../store/channels.ts";
import {
  type Connector,
  type ConnectorStatus,
  channelTurn,
  json,
  SeenIds,
  type StatusSink,
} from "./driver.ts";
import {
  splitForTelegram,
  type TelegramApi,
  TelegramError,
  type TelegramMessage,
  type TelegramUpdate,
} from "./telegram_api.ts";

export type { ConnectorStatus };

export type TelegramConnectorOptions = {
  api: TelegramApi;
  chat: ChatService;
  channels: Channels;
  log: Logger;
  allowedChatIds: number[];
  pollTimeoutSeconds: number;
  /** Webhook mode when set: where Telegram delivers, and the header it must carry. */
  webhook: { url: string; secretToken: string } | null;
  onStatus: StatusSink;
};

/** Chats answered at once; more wait for a slot before the next poll. */
const MAX_IN_FLIGHT = 8;
const MAX_BACKOFF_MS = 30_000;
const SECRET_HEADER = "x-telegram-bot-api-secret-token";

export class TelegramConnector implements Connector {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | null = null;
  private readonly warnedChats = new Set<number>();
  private readonly seen = new SeenIds();

  constructor(private readonly options: TelegramConnectorOptions) {}

  get mode(): "webhook" | "polling" {
    return this.options.webhook ? "webhook" : "polling";
  }

  start(): void {
    this.loop ??= this.options.webhook ? this.register(this.options.webhook) : this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    this.options.onStatus("stopped", null);
  }

  /** One update delivered by Telegram. Answered at once; the reply is sent afterwards. */
  async webhook(request: Request, rawBody: string): Promise<Response> {
    const expected = this.options.webhook?.secretToken;
    const presented = request.headers.get(SECRET_HEADER) ?? "";
    if (!expected || !constantTimeEqual(presented, expected)) {
      this.options.log.warn("telegram webhook refused", { reason: "bad secret token" });
      return json(401, { error: { code: "unauthorized", message: "bad secret token" } });
    }
    let update: TelegramUpdate;
    try {
      update = JSON.parse(rawBody) as TelegramUpdate;
    } catch {
      return json(400, { error: { code: "bad_request", message: "the update is not JSON" } });
    }
    if (!Number.isSafeInteger(update?.update_id)) {
      return json(400, { error: { code: "bad_request", message: "update_id is missing" } });
    }
    if (this.seen.first(String(update.update_id)) && update.message?.text && validMessage(update.message)) {
      await this.dispatch(update.message);
    }
    return json(200, { ok: true });
  }

  private async register(webhook: { url: string; secretToken: string }): Promise<void> {
    const { api, channels, onStatus, log } = this.options;
    const signal = this.abort.signal;
    let failures = 0;
    onStatus("starting", null);
    while (!signal.aborted) {
      try {
        await api.setWebhook(webhook.url, webhook.secretToken, signal);
        channels.updateState("telegram", { webhook_set: true });
        onStatus("webhook", null);
        log.info("telegram webhook registered");
        return;
      } catch (error) {
        if (signal.aborted) return;
        const failure = asTelegramError(error);
        if (failure.kind === "unauthorized") {
          onStatus("unauthorized", failure.message);
          return;
        }
        failures++;
        onStatus(failure.kind === "api" ? "error" : failure.kind, failure.message);
        await sleep(backoff(failure, failures), signal);
      }
    }
  }

  private async run(): Promise<void> {
    const { api, channels, onStatus } = this.options;
    const signal = this.abort.signal;
    let offset = numberOrNull(channels.get("telegram")?.state.offset);
    let failures = 0;
    onStatus("starting", null);
    // A webhook left from webhook mode makes Telegram refuse getUpdates with 409.
    let webhookSet = channels.get("telegram")?.state.webhook_set === true;
    while (!signal.aborted) {
      let updates: TelegramUpdate[];
      try {
        if (webhookSet) {
          await api.deleteWebhook(signal);
          channels.updateState("telegram", { webhook_set: false });
          webhookSet = false;
        }
        updates = await api.getUpdates(offset, this.options.pollTimeoutSeconds, signal);
      } catch (error) {
        if (signal.aborted) break;
        const failure = asTelegramError(error);
        if (failure.kind === "unauthorized") {
          onStatus("unauthorized", failure.message);
          this.options.log.warn("telegram connector stopped", { reason: failure.kind });
          return;
        }
        failures++;
        const waitMs = backoff(failure, failures);
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
    const reply = await channelTurn(chat, "telegram", `telegram:${chatId}`, text, signal);
    if (reply === null) return;
    for (const part of splitForTelegram(reply)) await api.sendMessage(chatId, part, signal);
  }
}

function validMessage(message: TelegramMessage): boolean {
  return Number.isSafeInteger(message.chat?.id) && typeof message.text === "string";
}

function asTelegramError(error: unknown): TelegramError {
  return error instanceof TelegramError
    ? error
    : new TelegramError("api", "Telegram sent an unexpected answer.");
}

function backoff(failure: TelegramError, failures: number): number {
  return failure.retryAfterSeconds !== null
    ? failure.retryAfterSeconds * 1000
    : Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 6));
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) ? value : null;
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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
