// Channel settings as the gateway sees them: validate and store (credentials sealed), start, restart
// and stop the connectors, route the platform's webhook deliveries to them, and report their status
// without ever returning a credential. The platform's webhook address (`<public url>/hooks/<slug>/
// <secret>`, given by the server with `channel.webhook`) is sealed too: it holds the hook secret. With it, every channel
// takes deliveries by webhook (a frozen container is woken by them); without it Telegram polls.
import type { Logger } from "../../common/log.ts";
import type { ChatService } from "../chat.ts";
import type { RuntimeConfig } from "../config.ts";
import type { Scrubber } from "../scrub.ts";
import type { SecretBox } from "../secret_box.ts";
import type { Channels } from "../store/channels.ts";
import {
  CHANNEL_NAMES,
  type ChannelDriver,
  ChannelError,
  type ChannelName,
  type Connector,
  type ConnectorStatus,
  json,
  type Raw,
  type Secrets,
  type StoredChannel,
} from "./driver.ts";
import { SlackDriver } from "./slack.ts";
import { TelegramDriver } from "./telegram_driver.ts";
import { WhatsAppDriver } from "./whatsapp.ts";

export { CHANNEL_NAMES, ChannelError, type ChannelName };

export type ChannelStatus = Raw & {
  channel: ChannelName;
  configured: boolean;
  enabled: boolean;
  /** How messages arrive: through the platform's webhook route, or by polling (keeps the container awake). */
  mode: "webhook" | "polling" | null;
  status: ConnectorStatus;
  detail: string | null;
  /** Where the platform delivers (to paste into Slack's or Meta's settings); null without a public URL. */
  webhook_url: string | null;
  updated_at: number | null;
};

const WEBHOOK_RECORD = "_webhook";
const LABELS: Record<ChannelName, string> = { telegram: "Telegram", slack: "Slack", whatsapp: "WhatsApp" };
const WEBHOOK_BASE =
  /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~%-]+)*\/hooks\/[a-z0-9]{12}\/[A-Za-z0-9_-]{43}$/;

export type ChannelManagerDeps = {
  config: RuntimeConfig;
  channels: Channels;
  chat: ChatService;
  log: Logger;
  scrubber: Scrubber;
  secretBox: SecretBox | null;
};

export class ChannelManager {
  private readonly drivers: Record<ChannelName, ChannelDriver>;
  private readonly connectors = new Map<ChannelName, Connector>();
  private readonly statuses = new Map<ChannelName, { status: ConnectorStatus; detail: string | null }>();
  private webhookBase: string | null = null;
  /** Settings changes run one at a time, so two clients cannot start two connectors. */
  private changes: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ChannelManagerDeps) {
    this.drivers = {
      telegram: new TelegramDriver(deps),
      slack: new SlackDriver(deps),
      whatsapp: new WhatsAppDriver(deps),
    };
  }

  async startAll(): Promise<void> {
    this.webhookBase = await this.openWebhookBase();
    for (const name of CHANNEL_NAMES) await this.restart(name);
  }

  async stopAll(): Promise<void> {
    for (const name of CHANNEL_NAMES) await this.stop(name);
  }

  /** A connector that polls needs the container awake; the server asks before an idle freeze. */
  keepsAwake(): boolean {
    return [...this.connectors.values()].some((c) => c.mode === "polling");
  }

  webhookConfigured(): boolean {
    return this.webhookBase !== null;
  }

  /** Every channel's status, and what the platform needs to know (channel.list). */
  overview(): { channels: ChannelStatus[]; keeps_awake: boolean; webhook_configured: boolean } {
    return {
      channels: CHANNEL_NAMES.map((name) => this.describe(name)),
      keeps_awake: this.keepsAwake(),
      webhook_configured: this.webhookConfigured(),
    };
  }

  describe(name: ChannelName): ChannelStatus {
    const record = this.deps.channels.get(name);
    const stored = record ? { settings: record.settings, secrets: {}, state: record.state } : null;
    const current = this.statuses.get(name) ?? { status: "stopped", detail: null };
    return {
      channel: name,
      configured: Boolean(record?.sealedSecret),
      enabled: record?.settings.enabled === true,
      mode: this.connectors.get(name)?.mode ?? null,
      status: current.status,
      detail: current.detail,
      webhook_url: this.webhookBase && name !== "telegram" ? `${this.webhookBase}/${name}` : null,
      updated_at: record?.updatedAt ?? null,
      ...this.drivers[name].describe(stored),
    };
  }

  /** A new platform address (the hook secret was rotated, or the platform lost its public URL). */
  setWebhookAddress(value: unknown): Promise<void> {
    return this.serially(async () => {
      await this.setWebhookBase(value, this.requireBox());
      for (const name of CHANNEL_NAMES) await this.restart(name);
    });
  }

  configure(name: ChannelName, input: Raw): Promise<ChannelStatus> {
    return this.serially(() => this.apply(name, input));
  }

  remove(name: ChannelName): Promise<boolean> {
    return this.serially(async () => {
      await this.stop(name);
      const stored = await this.open(name).catch(() => null);
      if (stored) await this.drivers[name].forget?.(stored);
      const removed = this.deps.channels.delete(name);
      if (removed) this.deps.log.info("channel removed", { channel: name });
      return removed;
    });
  }

  /** A delivery relayed from the platform's hook route (`/hooks/<channel>`). */
  async webhook(name: string, request: Request): Promise<Response> {
    const connector = (CHANNEL_NAMES as readonly string[]).includes(name)
      ? this.connectors.get(name as ChannelName)
      : undefined;
    if (!connector?.webhook || connector.mode !== "webhook") {
      return json(404, { error: { code: "not_found", message: "no channel takes webhooks here" } });
    }
    const raw = await request.text();
    return connector.webhook(request, raw);
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const next = this.changes.catch(() => {}).then(change);
    this.changes = next;
    return next;
  }

  private requireBox(): SecretBox {
    if (!this.deps.secretBox) {
      throw new ChannelError(
        "secrets_key_missing",
        "Channel credentials are stored encrypted and this container has no key to do so " +
          "(CLAWFLEET_GATEWAY_TOKEN or CLAWFLEET_SECRETS_KEY is not set).",
      );
    }
    return this.deps.secretBox;
  }

  private async apply(name: ChannelName, input: Raw): Promise<ChannelStatus> {
    const { channels, log } = this.deps;
    const box = this.requireBox();
    if (input.enabled !== undefined && typeof input.enabled !== "boolean") {
      throw new ChannelError("bad_request", "enabled must be true or false");
    }
    if (input.webhook_base !== undefined) {
      throw new ChannelError(
        "bad_request",
        "the platform's address is set with channel.webhook, not channel.set",
      );
    }
    const record = channels.get(name);
    const current = record ? await this.open(name).catch(() => null) : null;
    const hasCredential = Object.keys(input).some((k) => k !== "enabled");
    const prepared = await this.drivers[name].prepare(input, current);
    const wasEnabled = record?.settings.enabled === true;
    const enabled = typeof input.enabled === "boolean" ? input.enabled : hasCredential ? true : wasEnabled;
    const sealed =
      prepared.secrets === current?.secrets
        ? undefined
        : await box.seal(JSON.stringify(prepared.secrets), name);
    await this.stop(name);
    channels.put(name, { ...prepared.settings, enabled }, sealed);
    if (prepared.state) {
      channels.resetState(name);
      channels.updateState(name, prepared.state);
    }
    log.info("channel configured", { channel: name, enabled });
    await this.restart(name);
    return this.describe(name);
  }

  private async setWebhookBase(value: unknown, box: SecretBox): Promise<void> {
    if (value === null || value === "") {
      this.deps.channels.delete(WEBHOOK_RECORD);
      this.webhookBase = null;
      return;
    }
    if (typeof value !== "string" || value.length > 600 || !WEBHOOK_BASE.test(value)) {
      throw new ChannelError(
        "bad_request",
        "webhook_base must be the platform's hook URL (…/hooks/<slug>/<secret>)",
      );
    }
    // Not given to the scrubber: the user needs this URL in Slack's and Meta's settings. It is never logged.
    this.deps.channels.put(WEBHOOK_RECORD, {}, await box.seal(value, WEBHOOK_RECORD));
    this.webhookBase = value;
  }

  private async openWebhookBase(): Promise<string | null> {
    const sealed = this.deps.channels.get(WEBHOOK_RECORD)?.sealedSecret;
    if (!sealed || !this.deps.secretBox) return null;
    try {
      return await this.deps.secretBox.open(sealed, WEBHOOK_RECORD);
    } catch {
      return null;
    }
  }

  /** The stored channel with its secrets opened; throws when they cannot be. */
  private async open(name: ChannelName): Promise<StoredChannel | null> {
    const record = this.deps.channels.get(name);
    if (!record?.sealedSecret) return null;
    const plain = await this.requireBox().open(record.sealedSecret, name);
    const secrets = parseSecrets(plain, name);
    for (const value of Object.values(secrets)) this.deps.scrubber.add(value);
    return { settings: record.settings, secrets, state: record.state };
  }

  private async restart(name: ChannelName): Promise<void> {
    await this.stop(name);
    const record = this.deps.channels.get(name);
    if (!record?.sealedSecret || record.settings.enabled !== true)
      return this.setStatus(name, "stopped", null);
    if (!this.deps.secretBox) {
      return this.setStatus(
        name,
        "error",
        `The stored ${LABELS[name]} token cannot be read: this container has no secrets key.`,
      );
    }
    let stored: StoredChannel | null;
    try {
      stored = await this.open(name);
    } catch {
      return this.setStatus(
        name,
        "error",
        `The stored ${LABELS[name]} token was sealed under another key; set it again.`,
      );
    }
    if (!stored) return this.setStatus(name, "stopped", null);
    const webhookUrl = this.webhookBase ? `${this.webhookBase}/${name}` : null;
    const connector = this.drivers[name].start(stored, webhookUrl, (status, detail) =>
      this.setStatus(name, status, detail),
    );
    this.connectors.set(name, connector);
  }

  private async stop(name: ChannelName): Promise<void> {
    const connector = this.connectors.get(name);
    this.connectors.delete(name);
    await connector?.stop();
    this.setStatus(name, "stopped", null);
  }

  private setStatus(name: ChannelName, status: ConnectorStatus, detail: string | null): void {
    this.statuses.set(name, { status, detail: detail === null ? null : this.deps.scrubber.scrub(detail) });
  }
}

/** Secrets are sealed as a JSON object; a Telegram token sealed by an earlier runtime is the bare token. */
function parseSecrets(plain: string, name: ChannelName): Secrets {
  try {
    const value = JSON.parse(plain) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === "string")) as Secrets;
    }
  } catch {
    // Not JSON: the earlier format.
  }
  return name === "telegram" ? { bot_token: plain } : {};
}
