// A small Telegram Bot API client: POST {apiBase}/bot<token>/<method> with a JSON body; answers are
// `{ok: true, result}` or `{ok: false, error_code, description, parameters?: {retry_after}}`.
// The token is part of every URL, so nothing here ever puts a URL or a raw fetch error in a message.

export type TelegramUser = { id: number; is_bot: boolean; first_name: string; username?: string };
export type TelegramChat = { id: number; type: string; title?: string; username?: string };
export type TelegramMessage = {
  message_id: number;
  date: number;
  chat: TelegramChat;
  from?: TelegramUser;
  text?: string;
};
export type TelegramUpdate = { update_id: number; message?: TelegramMessage };

export type TelegramErrorKind = "unauthorized" | "conflict" | "rate_limited" | "unreachable" | "api";

export class TelegramError extends Error {
  override name = "TelegramError";
  constructor(
    readonly kind: TelegramErrorKind,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

export const TELEGRAM_TOKEN = /^\d{3,20}:[A-Za-z0-9_-]{30,64}$/;
/** Telegram refuses longer messages. */
export const TELEGRAM_MAX_TEXT = 4096;

type Envelope<T> = {
  ok?: boolean;
  result?: T;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
};

export class TelegramApi {
  constructor(
    private readonly apiBase: string,
    private readonly token: string,
  ) {}

  get host(): string {
    return new URL(this.apiBase).host;
  }

  /** Webhook mode: Telegram POSTs each update to `url` with `secret_token` in a header. */
  async setWebhook(url: string, secretToken: string, signal?: AbortSignal): Promise<void> {
    await this.call<unknown>(
      "setWebhook",
      { url, secret_token: secretToken, allowed_updates: ["message"] },
      signal,
      15_000,
    );
  }

  /** Back to polling: Telegram refuses getUpdates while a webhook is set. */
  async deleteWebhook(signal?: AbortSignal): Promise<void> {
    await this.call<unknown>("deleteWebhook", { drop_pending_updates: false }, signal, 15_000);
  }

  getMe(signal?: AbortSignal): Promise<TelegramUser> {
    return this.call<TelegramUser>("getMe", {}, signal, 15_000);
  }

  async getUpdates(
    offset: number | null,
    timeoutSeconds: number,
    signal: AbortSignal,
  ): Promise<TelegramUpdate[]> {
    const updates = await this.call<unknown>(
      "getUpdates",
      { ...(offset === null ? {} : { offset }), timeout: timeoutSeconds, allowed_updates: ["message"] },
      signal,
      (timeoutSeconds + 15) * 1000,
    );
    if (!Array.isArray(updates) || !updates.every((u) => Number.isSafeInteger(u?.update_id))) {
      throw new TelegramError(
        "api",
        "Telegram answered getUpdates with something other than a list of updates.",
      );
    }
    return updates as TelegramUpdate[];
  }

  sendMessage(chatId: number, text: string, signal?: AbortSignal): Promise<TelegramMessage> {
    return this.call<TelegramMessage>("sendMessage", { chat_id: chatId, text }, signal, 30_000);
  }

  private async call<T>(
    method: string,
    params: unknown,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.apiBase}/bot${this.token}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      const code = (error as { code?: unknown })?.code;
      const reason = timeout.aborted
        ? "timed out"
        : code === "ECONNREFUSED"
          ? "connection refused"
          : "request failed";
      throw new TelegramError("unreachable", `Could not reach Telegram at ${this.host}: ${reason}.`);
    }
    let envelope: Envelope<T>;
    try {
      envelope = (await response.json()) as Envelope<T>;
    } catch {
      throw new TelegramError("api", `Telegram answered ${method} with HTTP ${response.status} and no JSON.`);
    }
    if (envelope.ok === true && envelope.result !== undefined) return envelope.result;
    const status = envelope.error_code ?? response.status;
    const description = (envelope.description ?? "no description").slice(0, 200);
    if (status === 401 || status === 404) {
      // The Bot API answers 404 for a token of the right shape that names no bot.
      throw new TelegramError("unauthorized", "Telegram rejected the bot token. Check it with @BotFather.");
    }
    if (status === 409) {
      throw new TelegramError("conflict", `Another client is using this bot (Telegram: ${description}).`);
    }
    if (status === 429) {
      const retry = envelope.parameters?.retry_after ?? Number(response.headers.get("retry-after") ?? "5");
      const seconds = Number.isFinite(retry) && retry > 0 ? Math.ceil(retry) : 5;
      throw new TelegramError(
        "rate_limited",
        `Telegram rate limit reached; retrying in ${seconds} s.`,
        seconds,
      );
    }
    throw new TelegramError("api", `Telegram refused ${method} (HTTP ${status}: ${description}).`);
  }
}

/** Splits a reply into pieces Telegram accepts, preferring to cut at a line break. */
export function splitForTelegram(text: string, limit = TELEGRAM_MAX_TEXT): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf("\n", limit);
    if (cut < limit / 2) cut = limit;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, "");
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest);
  return parts;
}
