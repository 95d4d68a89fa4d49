// Channels as the platform sees them: read, connect, change and disconnect a user's Telegram, Slack
// and WhatsApp, by asking the container (its runtime holds the settings and the sealed credentials).
// The server only carries credentials through in memory: it never stores, logs or audits them, and
// answers carry only what the runtime reports (never a credential). When the platform has a public
// URL and the container no hook address yet, a hook secret is made and handed to the container, so
// channels take webhooks (and wake a frozen container); without one Telegram polls, and the session
// is marked so the idle freeze leaves it running.

import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import { UserError } from "../errors.ts";
import { rotateHookSecret } from "../hooks/hook_secrets.ts";
import { wakeSession } from "../hooks/wake_session.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { getSessionView } from "../sessions/sessions_repo.ts";
import { askContainer, type GatewayAnswer, type GatewayFrame } from "./container_gateway.ts";
import { recordPollingChannel } from "./polling_channels.ts";

export const CHANNELS = ["telegram", "slack", "whatsapp"] as const;
export type ChannelName = (typeof CHANNELS)[number];

/** The fields each channel takes; anything else is refused before the container is asked. */
const FIELDS: Record<ChannelName, Record<string, "secret" | "text" | "list" | "flag">> = {
  telegram: { bot_token: "secret", allowed_chat_ids: "list", enabled: "flag" },
  slack: { bot_token: "secret", signing_secret: "secret", allowed_user_ids: "list", enabled: "flag" },
  whatsapp: {
    phone_number_id: "text",
    access_token: "secret",
    app_secret: "secret",
    verify_token: "secret",
    allowed_numbers: "list",
    enabled: "flag",
  },
};

export type ChannelsView = {
  channels: Record<string, unknown>[];
  keeps_awake: boolean;
  webhook_configured: boolean;
};

const RUNTIME_ERRORS: Record<string, number> = {
  bad_request: 400,
  rejected: 422,
  unreachable: 502,
  secrets_key_missing: 409,
  not_found: 404,
};

export function isChannelName(name: string): name is ChannelName {
  return (CHANNELS as readonly string[]).includes(name);
}

/** Checks a connect/update body; returns only the channel's known fields. */
export function channelInput(name: ChannelName, body: unknown): Record<string, unknown> {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new UserError(400, "invalid_request", "The body must be a JSON object.");
  }
  const fields = FIELDS[name];
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key === "_csrf") continue;
    const kind = fields[key];
    if (!kind) throw new UserError(400, "invalid_request", `${name} takes no field "${key.slice(0, 40)}".`);
    const ok =
      kind === "flag"
        ? typeof value === "boolean"
        : kind === "list"
          ? Array.isArray(value) && value.length <= 100
          : typeof value === "string" && value.length > 0 && value.length <= 1000;
    if (!ok) throw new UserError(400, "invalid_request", `${key} has the wrong type or size.`);
    input[key] = value;
  }
  return input;
}

function refusal(answer: GatewayAnswer | undefined): UserError | null {
  if (!answer) return new UserError(502, "container_unreachable", "The container did not answer.");
  if (answer.type !== "error") return null;
  const error = (answer.error ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof error.code === "string" ? error.code : "internal";
  if (code === "unknown_type") {
    return new UserError(409, "channels_unsupported", "This session's template has no channels.");
  }
  const message = typeof error.message === "string" ? error.message.slice(0, 300) : "The container refused.";
  return new UserError(RUNTIME_ERRORS[code] ?? 502, code, message);
}

export class ChannelService {
  constructor(
    private readonly ctx: AppContext,
    private readonly lifecycle: Lifecycle,
  ) {}

  list(userId: string, ip: string | null): Promise<ChannelsView> {
    return this.talk(userId, ip, []);
  }

  async connect(userId: string, ip: string | null, name: ChannelName, input: Record<string, unknown>) {
    // The channel first: refused input leaves everything as it was, the hook secret included.
    let view = await this.talk(userId, ip, [{ type: "channel.set", channel: name, ...input }]);
    await audit(this.ctx.database.db, { action: "channel.connect", userId, target: name, ip });
    const publicUrl = this.ctx.config.publicUrl;
    if (!view.webhook_configured && publicUrl) {
      // The container keeps the address (sealed); the new secret replaces one nobody held (the first
      // is unknowable) or one no channel of this container used.
      const { slug, secret } = await rotateHookSecret(this.ctx.database.db, userId, ip);
      const base = `${publicUrl.replace(/\/$/, "")}/hooks/${slug}/${secret}`;
      view = await this.talk(userId, ip, [{ type: "channel.webhook", webhook_base: base }]);
    }
    return view;
  }

  /**
   * After the hook secret was rotated: the container's channels move to the new address (Telegram
   * re-registers its webhook; Slack's and Meta's URLs change and must be pasted again). Only for a
   * container of the default runtime; false when there was nothing to tell.
   */
  async moveHookAddress(userId: string, ip: string | null, slug: string, secret: string): Promise<boolean> {
    const publicUrl = this.ctx.config.publicUrl;
    const session = (await getSessionView(this.ctx.database.db, userId))?.session;
    if (!publicUrl || !session || !["running", "frozen"].includes(session.state)) return false;
    if (session.template !== "clawfleet-runtime") return false;
    const base = `${publicUrl.replace(/\/$/, "")}/hooks/${slug}/${secret}`;
    await this.talk(userId, ip, [{ type: "channel.webhook", webhook_base: base }]);
    return true;
  }

  async disconnect(userId: string, ip: string | null, name: ChannelName): Promise<ChannelsView> {
    const view = await this.talk(userId, ip, [{ type: "channel.delete", channel: name }]);
    await audit(this.ctx.database.db, { action: "channel.disconnect", userId, target: name, ip });
    return view;
  }

  /** Wakes the container, sends `frames` and a channel.list, records the polling flag from the list. */
  private async talk(userId: string, ip: string | null, frames: GatewayFrame[]): Promise<ChannelsView> {
    const db = this.ctx.database.db;
    const session = await wakeSession(db, this.lifecycle, userId, ip, this.ctx.config.hookWaitMs);
    const found = await this.lifecycle.fleet.agentForNode(session.nodeId);
    if (!found) throw new UserError(503, "container_waking", "The container's node is not reachable.", 10);
    const answers = await askContainer(found.agent, session.id, [...frames, { type: "channel.list" }]);
    for (const answer of answers) {
      const refused = refusal(answer);
      if (refused) throw refused;
    }
    const view = asView(answers.at(-1));
    await recordPollingChannel(db, session.id, view.keeps_awake ? session.dockerId : null);
    return view;
  }
}

function asView(answer: GatewayAnswer | undefined): ChannelsView {
  const channels = Array.isArray(answer?.channels) ? (answer.channels as Record<string, unknown>[]) : [];
  return {
    channels: channels.map(({ id: _id, type: _type, ...rest }) => rest),
    keeps_awake: answer?.keeps_awake === true,
    webhook_configured: answer?.webhook_configured === true,
  };
}
