// The gateway's JSON protocol (docs/RUNTIME.md): one JSON object per WebSocket text frame, each with
// a `type` and an optional client-chosen `id` that every answer to it carries. This module turns a
// frame into a typed message or a ProtocolError naming what is wrong.

import { CHANNEL_NAMES, type ChannelName, type TelegramSettingsInput } from "../channels/manager.ts";
import { MAX_MESSAGE_CHARS } from "../chat.ts";
import { parseProviderId } from "../config.ts";
import { CONVERSATION_ID } from "../store/history.ts";
import { MAX_MEMORY_CHARS } from "../store/memory.ts";
import { MAX_SYSTEM_PROMPT_CHARS, SETTINGS_SHELL_MODES, type SettingsUpdate } from "../store/settings.ts";

export type ClientMessage =
  | { type: "ping"; id: string | null }
  | {
      type: "chat";
      id: string | null;
      conversation_id: string | null;
      text: string;
      provider: string | undefined;
      model: string | undefined;
    }
  | { type: "chat.cancel"; id: string | null }
  | { type: "history.list"; id: string | null; limit: number }
  | {
      type: "history.get";
      id: string | null;
      conversation_id: string;
      limit: number;
      before: number | undefined;
    }
  | { type: "history.delete"; id: string | null; conversation_id: string }
  | { type: "memory.get"; id: string | null }
  | { type: "memory.set"; id: string | null; content: string }
  | { type: "channel.get"; id: string | null; channel: ChannelName }
  | { type: "channel.set"; id: string | null; channel: ChannelName; settings: TelegramSettingsInput }
  | { type: "channel.delete"; id: string | null; channel: ChannelName }
  | { type: "tool.approve"; id: string | null; approval_id: string; approved: boolean }
  | { type: "settings.get"; id: string | null }
  | { type: "settings.set"; id: string | null; update: SettingsUpdate }
  | { type: "schedule.list"; id: string | null }
  | { type: "schedule.create"; id: string | null; input: Record<string, unknown> }
  | { type: "schedule.delete"; id: string | null; schedule_id: string };

export class ProtocolError extends Error {
  override name = "ProtocolError";
  constructor(
    readonly code: "bad_request" | "unknown_type",
    message: string,
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
}

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const NAME = /^[A-Za-z0-9_./:-]{1,100}$/;

type Raw = Record<string, unknown>;

export function parseClientMessage(frame: string | Buffer): ClientMessage {
  if (typeof frame !== "string")
    throw new ProtocolError("bad_request", "frames must be JSON text, not binary");
  let raw: unknown;
  try {
    raw = JSON.parse(frame);
  } catch {
    throw new ProtocolError("bad_request", "the frame is not valid JSON");
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ProtocolError("bad_request", "a message must be a JSON object");
  }
  const msg = raw as Raw;
  let id: string | null = null;
  if (msg.id !== undefined && msg.id !== null) {
    if (typeof msg.id !== "string" || !REQUEST_ID.test(msg.id)) {
      throw new ProtocolError("bad_request", "id must be 1-64 letters, digits or _ . : -");
    }
    id = msg.id;
  }
  const fail = (message: string) => new ProtocolError("bad_request", message, id);

  switch (msg.type) {
    case "ping":
    case "chat.cancel":
    case "memory.get":
    case "settings.get":
    case "schedule.list":
      return { type: msg.type, id };
    case "tool.approve":
      if (typeof msg.approval_id !== "string" || !REQUEST_ID.test(msg.approval_id)) {
        throw fail("approval_id must be the id of a pending approval");
      }
      if (typeof msg.approved !== "boolean") throw fail("approved must be true or false");
      return { type: "tool.approve", id, approval_id: msg.approval_id, approved: msg.approved };
    case "settings.set":
      return { type: "settings.set", id, update: settingsUpdate(msg, fail) };
    case "schedule.create": {
      const input: Record<string, unknown> = {};
      for (const field of ["prompt", "at", "cron", "name"]) {
        if (msg[field] === undefined) continue;
        if (typeof msg[field] !== "string" || (msg[field] as string).length > 4000) {
          throw fail(`${field} must be a string of at most 4000 characters`);
        }
        input[field] = msg[field];
      }
      return { type: "schedule.create", id, input };
    }
    case "schedule.delete":
      if (typeof msg.schedule_id !== "string" || !REQUEST_ID.test(msg.schedule_id)) {
        throw fail("schedule_id must be a schedule's id");
      }
      return { type: "schedule.delete", id, schedule_id: msg.schedule_id };
    case "chat": {
      const text = requiredText(msg, "text", MAX_MESSAGE_CHARS, fail);
      return {
        type: "chat",
        id,
        conversation_id: msg.conversation_id == null ? null : conversationId(msg.conversation_id, fail),
        text,
        provider: optionalName(msg, "provider", fail),
        model: optionalName(msg, "model", fail),
      };
    }
    case "history.list":
      return { type: "history.list", id, limit: limit(msg.limit, 50, 200, fail) };
    case "history.get":
      return {
        type: "history.get",
        id,
        conversation_id: conversationId(msg.conversation_id, fail),
        limit: limit(msg.limit, 100, 500, fail),
        before: msg.before === undefined ? undefined : limit(msg.before, 0, Number.MAX_SAFE_INTEGER, fail),
      };
    case "history.delete":
      return { type: "history.delete", id, conversation_id: conversationId(msg.conversation_id, fail) };
    case "memory.set": {
      if (typeof msg.content !== "string") throw fail("content must be a string");
      if (msg.content.length > MAX_MEMORY_CHARS)
        throw fail(`content is limited to ${MAX_MEMORY_CHARS} characters`);
      return { type: "memory.set", id, content: msg.content };
    }
    case "channel.get":
    case "channel.delete":
      return { type: msg.type, id, channel: channelName(msg.channel, fail) };
    case "channel.set":
      return {
        type: "channel.set",
        id,
        channel: channelName(msg.channel, fail),
        settings: telegramSettings(msg, fail),
      };
    default:
      throw new ProtocolError(
        "unknown_type",
        typeof msg.type === "string" ? `unknown message type "${msg.type.slice(0, 40)}"` : "type is required",
        id,
      );
  }
}

type Fail = (message: string) => ProtocolError;

function requiredText(msg: Raw, field: string, max: number, fail: Fail): string {
  const value = msg[field];
  if (typeof value !== "string" || value.trim() === "") throw fail(`${field} must be a non-empty string`);
  if (value.length > max) throw fail(`${field} is limited to ${max} characters`);
  return value;
}

function optionalName(msg: Raw, field: string, fail: Fail): string | undefined {
  const value = msg[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !NAME.test(value)) throw fail(`${field} must be a short name`);
  return value;
}

function conversationId(value: unknown, fail: Fail): string {
  if (typeof value !== "string" || !CONVERSATION_ID.test(value)) {
    throw fail("conversation_id must be 1-80 letters, digits or _ : . -");
  }
  return value;
}

function limit(value: unknown, fallback: number, max: number, fail: Fail): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw fail(`expected a whole number between 1 and ${max}`);
  }
  return value;
}

function channelName(value: unknown, fail: Fail): ChannelName {
  if (typeof value !== "string" || !(CHANNEL_NAMES as readonly string[]).includes(value)) {
    throw fail(`channel must be one of: ${CHANNEL_NAMES.join(", ")}`);
  }
  return value as ChannelName;
}

function telegramSettings(msg: Raw, fail: Fail): TelegramSettingsInput {
  const settings: TelegramSettingsInput = {};
  if (msg.enabled !== undefined) {
    if (typeof msg.enabled !== "boolean") throw fail("enabled must be true or false");
    settings.enabled = msg.enabled;
  }
  if (msg.bot_token !== undefined) {
    if (typeof msg.bot_token !== "string" || msg.bot_token.length > 200)
      throw fail("bot_token must be a string");
    settings.bot_token = msg.bot_token;
  }
  if (msg.allowed_chat_ids !== undefined) {
    const ids = msg.allowed_chat_ids;
    if (!Array.isArray(ids) || ids.length > 100 || !ids.every((n) => Number.isSafeInteger(n))) {
      throw fail("allowed_chat_ids must be a list of at most 100 Telegram chat ids (whole numbers)");
    }
    settings.allowed_chat_ids = [...new Set(ids as number[])];
  }
  return settings;
}

function settingsUpdate(msg: Raw, fail: Fail): SettingsUpdate {
  const update: SettingsUpdate = {};
  if (msg.shell_mode !== undefined) {
    if (!(SETTINGS_SHELL_MODES as readonly unknown[]).includes(msg.shell_mode)) {
      throw fail(`shell_mode must be one of: ${SETTINGS_SHELL_MODES.join(", ")}`);
    }
    update.shell_mode = msg.shell_mode as SettingsUpdate["shell_mode"];
  }
  if (msg.default_provider !== undefined) {
    if (msg.default_provider === null || msg.default_provider === "") update.default_provider = null;
    else {
      const provider =
        typeof msg.default_provider === "string" ? parseProviderId(msg.default_provider) : null;
      if (!provider) throw fail("default_provider must be anthropic, openai, openrouter or gemini");
      update.default_provider = provider;
    }
  }
  if (msg.default_model !== undefined) {
    if (msg.default_model === null || msg.default_model === "") update.default_model = null;
    else update.default_model = optionalName(msg, "default_model", fail) ?? null;
  }
  if (msg.system_prompt !== undefined) {
    if (msg.system_prompt !== null && typeof msg.system_prompt !== "string") {
      throw fail("system_prompt must be a string");
    }
    if (typeof msg.system_prompt === "string" && msg.system_prompt.length > MAX_SYSTEM_PROMPT_CHARS) {
      throw fail(`system_prompt is limited to ${MAX_SYSTEM_PROMPT_CHARS} characters`);
    }
    update.system_prompt = msg.system_prompt as string | null;
  }
  return update;
}
