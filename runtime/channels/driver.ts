// What every channel (Telegram, Slack, WhatsApp) gives the manager: how to check its settings with
// the platform, how to start its connector, and which non-secret facts describe it. Secrets travel
// as one object sealed in the volume (secret_box.ts); nothing here ever returns one.
import type { Logger } from "../../common/log.ts";
import type { ChatService } from "../chat.ts";
import type { RuntimeConfig } from "../config.ts";
import { ProviderError } from "../providers/errors.ts";
import type { Scrubber } from "../scrub.ts";
import type { Channels } from "../store/channels.ts";

export const CHANNEL_NAMES = ["telegram", "slack", "whatsapp"] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

export type ConnectorStatus =
  | "stopped"
  | "starting"
  | "polling"
  | "webhook"
  | "unauthorized"
  | "conflict"
  | "rate_limited"
  | "unreachable"
  | "error";

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

export type Raw = Record<string, unknown>;
export type Secrets = Record<string, string>;

export type StoredChannel = { settings: Raw; secrets: Secrets; state: Raw };

export type ChannelDeps = {
  config: RuntimeConfig;
  channels: Channels;
  chat: ChatService;
  log: Logger;
  scrubber: Scrubber;
};

/** A running connector. `webhook` answers the platform's deliveries (the raw body is what was signed). */
export interface Connector {
  readonly mode: "webhook" | "polling";
  stop(): Promise<void>;
  webhook?(request: Request, rawBody: string): Promise<Response>;
}

export type StatusSink = (status: ConnectorStatus, detail: string | null) => void;

export interface ChannelDriver {
  readonly name: ChannelName;
  /** The new settings and secrets, checked (credentials with the platform), or a ChannelError. */
  prepare(
    input: Raw,
    current: StoredChannel | null,
  ): Promise<{ settings: Raw; secrets: Secrets; state?: Raw }>;
  start(stored: StoredChannel, webhookUrl: string | null, onStatus: StatusSink): Connector;
  /** Channel-specific, non-secret fields of the status. */
  describe(stored: StoredChannel | null): Raw;
  /** Undo what the platform keeps for us (Telegram's webhook) when the channel is removed. */
  forget?(stored: StoredChannel): Promise<void>;
}

/** One chat turn for a channel message; provider failures become a readable reply. */
export async function channelTurn(
  chat: ChatService,
  channel: ChannelName,
  conversationId: string,
  text: string,
  signal: AbortSignal,
): Promise<string | null> {
  try {
    const result = await chat.run({ conversationId, channel, text, signal });
    return result.text || "(The model returned an empty reply.)";
  } catch (error) {
    if (signal.aborted) return null;
    if (!(error instanceof ProviderError)) throw error;
    return `Sorry, I could not answer: ${error.message}`;
  }
}

/** Bounded memory of delivery ids already handled: platforms redeliver on timeouts. */
export class SeenIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 1000) {}
  /** True the first time an id is seen. */
  first(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** A setting's list of up to 100 ids of one shape, without repeats; `message` refuses anything else. */
export function idList(value: unknown, shape: RegExp, message: string): string[] {
  if (
    !Array.isArray(value) ||
    value.length > 100 ||
    !value.every((v) => typeof v === "string" && shape.test(v))
  ) {
    throw new ChannelError("bad_request", message);
  }
  return [...new Set(value as string[])];
}

/** A credential that may be left out (kept as stored); given, it must have `shape`. */
export function optionalSecret(value: unknown, shape: RegExp, message: string): string | null {
  if (value === undefined) return null;
  const text = typeof value === "string" ? value.trim() : "";
  if (!shape.test(text)) throw new ChannelError("bad_request", message);
  return text;
}

export function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}
