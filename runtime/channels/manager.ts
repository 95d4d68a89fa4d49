// Channel settings as the gateway sees them: validate and store (credential sealed), start, restart
// and stop the connectors, and report their status without ever returning a credential.
import type { Logger } from "../../common/log.ts";
import type { ChatService } from "../chat.ts";
import type { RuntimeConfig } from "../config.ts";
import type { Scrubber } from "../scrub.ts";
import type { SecretBox } from "../secret_box.ts";
import type { Channels } from "../store/channels.ts";
import { type ConnectorStatus, TelegramConnector } from "./telegram.ts";
import { TELEGRAM_TOKEN, TelegramApi, TelegramError } from "./telegram_api.ts";

export const CHANNEL_NAMES = ["telegram"] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

export type ChannelStatus = {
  channel: ChannelName;
  configured: boolean;
  enabled: boolean;
  allowed_chat_ids: number[];
  bot_username: string | null;
  status: ConnectorStatus;
  detail: string | null;
  updated_at: number | null;
};

export type TelegramSettingsInput = { enabled?: boolean; bot_token?: string; allowed_chat_ids?: number[] };

export type ChannelErrorCode = "bad_request" | "secrets_key_missing" | "rejected" | "unreachable";

export class ChannelError extends Error {
  override name = "ChannelError";
  constructor(
    readonly code: ChannelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type TelegramSettings = { enabled: boolean; allowed_chat_ids: number[] };

export type ChannelManagerDeps = {
  config: RuntimeConfig;
  channels: Channels;
  chat: ChatService;
  log: Logger;
  scrubber: Scrubber;
  secretBox: SecretBox | null;
};

export class ChannelManager {
  private connector: TelegramConnector | null = null;
  private status: ConnectorStatus = "stopped";
  private detail: string | null = null;
  /** Settings changes run one at a time, so two clients cannot start two connectors. */
  private changes: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ChannelManagerDeps) {}

  async startAll(): Promise<void> {
    await this.restartTelegram();
  }

  async stopAll(): Promise<void> {
    await this.connector?.stop();
    this.connector = null;
  }

  describe(name: ChannelName): ChannelStatus {
    const record = this.deps.channels.get(name);
    const settings = readSettings(record?.settings);
    const username = record?.state.bot_username;
    return {
      channel: name,
      configured: Boolean(record?.sealedSecret),
      enabled: settings.enabled,
      allowed_chat_ids: settings.allowed_chat_ids,
      bot_username: typeof username === "string" ? username : null,
      status: this.status,
      detail: this.detail,
      updated_at: record?.updatedAt ?? null,
    };
  }

  configureTelegram(input: TelegramSettingsInput): Promise<ChannelStatus> {
    return this.serially(() => this.applyTelegram(input));
  }

  remove(name: ChannelName): Promise<boolean> {
    return this.serially(async () => {
      await this.stopAll();
      this.setStatus("stopped", null);
      const removed = this.deps.channels.delete(name);
      if (removed) this.deps.log.info("channel removed", { channel: name });
      return removed;
    });
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const next = this.changes.catch(() => {}).then(change);
    this.changes = next;
    return next;
  }

  private async applyTelegram(input: TelegramSettingsInput): Promise<ChannelStatus> {
    const { channels, secretBox, scrubber, config } = this.deps;
    if (!secretBox) {
      throw new ChannelError(
        "secrets_key_missing",
        "Channel credentials are stored encrypted and this container has no key to do so " +
          "(CLAWFLEET_GATEWAY_TOKEN or CLAWFLEET_SECRETS_KEY is not set).",
      );
    }
    const current = channels.get("telegram");
    const previous = readSettings(current?.settings);
    let sealed: string | undefined;
    let username: string | null = null;
    if (input.bot_token !== undefined) {
      const token = input.bot_token.trim();
      if (!TELEGRAM_TOKEN.test(token)) {
        throw new ChannelError(
          "bad_request",
          "bot_token does not look like a Telegram bot token (digits:letters).",
        );
      }
      scrubber.add(token);
      try {
        username = (await new TelegramApi(config.telegram.apiBase, token).getMe()).username ?? null;
      } catch (error) {
        if (error instanceof TelegramError && error.kind === "unauthorized") {
          throw new ChannelError("rejected", error.message);
        }
        throw new ChannelError(
          "unreachable",
          error instanceof TelegramError ? error.message : "Telegram sent an unexpected answer.",
        );
      }
      sealed = await secretBox.seal(token, "telegram");
    } else if (!current?.sealedSecret) {
      throw new ChannelError("bad_request", "bot_token is required to set up Telegram.");
    }
    const settings: TelegramSettings = {
      enabled: input.enabled ?? (input.bot_token !== undefined ? true : previous.enabled),
      allowed_chat_ids: input.allowed_chat_ids ?? previous.allowed_chat_ids,
    };
    await this.stopAll();
    channels.put("telegram", settings, sealed);
    if (sealed) {
      channels.resetState("telegram");
      channels.updateState("telegram", { bot_username: username });
    }
    this.deps.log.info("channel configured", { channel: "telegram", enabled: settings.enabled });
    await this.restartTelegram();
    return this.describe("telegram");
  }

  private async restartTelegram(): Promise<void> {
    await this.stopAll();
    const { channels, secretBox, scrubber, config, chat, log } = this.deps;
    const record = channels.get("telegram");
    const settings = readSettings(record?.settings);
    if (!record?.sealedSecret || !settings.enabled) {
      this.setStatus("stopped", null);
      return;
    }
    if (!secretBox) {
      this.setStatus("error", "The stored Telegram token cannot be read: this container has no secrets key.");
      return;
    }
    let token: string;
    try {
      token = await secretBox.open(record.sealedSecret, "telegram");
    } catch {
      this.setStatus("error", "The stored Telegram token was sealed under another key; set it again.");
      return;
    }
    scrubber.add(token);
    this.connector = new TelegramConnector({
      api: new TelegramApi(config.telegram.apiBase, token),
      chat,
      channels,
      log: log.child({ channel: "telegram" }),
      allowedChatIds: settings.allowed_chat_ids,
      pollTimeoutSeconds: config.telegram.pollTimeoutSeconds,
      onStatus: (status, detail) => this.setStatus(status, detail),
    });
    this.connector.start();
  }

  private setStatus(status: ConnectorStatus, detail: string | null): void {
    this.status = status;
    this.detail = detail === null ? null : this.deps.scrubber.scrub(detail);
  }
}

function readSettings(raw: Record<string, unknown> | undefined): TelegramSettings {
  const ids = raw?.allowed_chat_ids;
  return {
    enabled: raw?.enabled === true,
    allowed_chat_ids: Array.isArray(ids) ? ids.filter((id): id is number => Number.isSafeInteger(id)) : [],
  };
}
