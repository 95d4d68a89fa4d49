// Telegram's settings: a bot token (checked with getMe), the allowed chat ids, and a random
// `secret_token` the runtime makes for webhook mode. Both secrets are sealed together.
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import {
  type ChannelDeps,
  type ChannelDriver,
  ChannelError,
  type Connector,
  type Raw,
  type StatusSink,
  type StoredChannel,
} from "./driver.ts";
import { TelegramConnector } from "./telegram.ts";
import { TELEGRAM_TOKEN, TelegramApi, TelegramError } from "./telegram_api.ts";

export class TelegramDriver implements ChannelDriver {
  readonly name = "telegram";
  constructor(private readonly deps: ChannelDeps) {}

  async prepare(input: Raw, current: StoredChannel | null) {
    const settings: Raw = {
      allowed_chat_ids:
        input.allowed_chat_ids !== undefined
          ? chatIds(input.allowed_chat_ids)
          : chatIdsOrEmpty(current?.settings.allowed_chat_ids),
    };
    if (input.bot_token === undefined) {
      if (!current) throw new ChannelError("bad_request", "bot_token is required to set up Telegram.");
      return { settings, secrets: current.secrets };
    }
    const token = typeof input.bot_token === "string" ? input.bot_token.trim() : "";
    if (!TELEGRAM_TOKEN.test(token)) {
      throw new ChannelError(
        "bad_request",
        "bot_token does not look like a Telegram bot token (digits:letters).",
      );
    }
    this.deps.scrubber.add(token);
    let username: string | null;
    try {
      username = (await new TelegramApi(this.deps.config.telegram.apiBase, token).getMe()).username ?? null;
    } catch (error) {
      if (error instanceof TelegramError && error.kind === "unauthorized") {
        throw new ChannelError("rejected", error.message);
      }
      throw new ChannelError(
        "unreachable",
        error instanceof TelegramError ? error.message : "Telegram sent an unexpected answer.",
      );
    }
    // Telegram allows 1-256 of A-Z a-z 0-9 _ -: 256 random bits in base64url fit.
    const secretToken = encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
    this.deps.scrubber.add(secretToken);
    return {
      settings,
      secrets: { bot_token: token, secret_token: secretToken },
      state: { bot_username: username },
    };
  }

  start(stored: StoredChannel, webhookUrl: string | null, onStatus: StatusSink): Connector {
    const { config, chat, channels, log } = this.deps;
    const token = stored.secrets.bot_token ?? "";
    const secretToken = stored.secrets.secret_token;
    const connector = new TelegramConnector({
      api: new TelegramApi(config.telegram.apiBase, token),
      chat,
      channels,
      log: log.child({ channel: "telegram" }),
      allowedChatIds: chatIdsOrEmpty(stored.settings.allowed_chat_ids),
      pollTimeoutSeconds: config.telegram.pollTimeoutSeconds,
      webhook: webhookUrl && secretToken ? { url: webhookUrl, secretToken } : null,
      onStatus,
    });
    connector.start();
    return connector;
  }

  describe(stored: StoredChannel | null): Raw {
    const username = stored?.state.bot_username;
    return {
      allowed_chat_ids: chatIdsOrEmpty(stored?.settings.allowed_chat_ids),
      bot_username: typeof username === "string" ? username : null,
    };
  }

  async forget(stored: StoredChannel): Promise<void> {
    if (stored.state.webhook_set !== true || !stored.secrets.bot_token) return;
    await new TelegramApi(this.deps.config.telegram.apiBase, stored.secrets.bot_token)
      .deleteWebhook()
      .catch(() => {});
  }
}

function chatIds(value: unknown): number[] {
  if (!Array.isArray(value) || value.length > 100 || !value.every((n) => Number.isSafeInteger(n))) {
    throw new ChannelError(
      "bad_request",
      "allowed_chat_ids must be a list of at most 100 Telegram chat ids (whole numbers)",
    );
  }
  return [...new Set(value as number[])];
}

function chatIdsOrEmpty(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((id): id is number => Number.isSafeInteger(id)) : [];
}
