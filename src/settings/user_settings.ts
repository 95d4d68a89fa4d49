// The user's assistant settings: default provider and model, system prompt, and whether the shell
// tool asks first. Stored per user under RLS; the console hands them to the user's runtime each time
// the chat connects (runtime `settings.set`), so a change applies to the next message.
import { eq } from "drizzle-orm";
import { isProvider, type Provider } from "../../common/providers.ts";
import { audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { asUser } from "../db/rls.ts";
import { SHELL_MODES, type ShellMode, userSettings } from "../db/schema.ts";
import { ApiError } from "../http/errors.ts";

export const MAX_SYSTEM_PROMPT_CHARS = 8_000;
const MODEL = /^[A-Za-z0-9_.:/@-]{1,100}$/;

export type UserSettings = {
  default_provider: Provider | null;
  default_model: string | null;
  system_prompt: string;
  shell_mode: ShellMode;
  updated_at: string | null;
};

const DEFAULTS: UserSettings = {
  default_provider: null,
  default_model: null,
  system_prompt: "",
  shell_mode: "ask",
  updated_at: null,
};

export async function getUserSettings(db: Db, userId: string): Promise<UserSettings> {
  const [row] = await asUser(db, userId, (tx) =>
    tx.select().from(userSettings).where(eq(userSettings.userId, userId)),
  );
  if (!row) return { ...DEFAULTS };
  return {
    default_provider: row.defaultProvider,
    default_model: row.defaultModel,
    system_prompt: row.systemPrompt,
    shell_mode: row.shellMode,
    updated_at: row.updatedAt.toISOString(),
  };
}

export type SettingsInput = Partial<
  Record<"default_provider" | "default_model" | "system_prompt" | "shell_mode", unknown>
>;

/** Checks every field before anything is written: bad input changes nothing. */
export function parseSettingsInput(body: unknown): Partial<Omit<UserSettings, "updated_at">> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "invalid_request", "The body must be a JSON object.");
  }
  const { default_provider, default_model, system_prompt, shell_mode, _csrf, ...rest } =
    body as SettingsInput & Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown) throw new ApiError(400, "invalid_request", `Unknown field "${unknown.slice(0, 40)}".`);
  const out: Partial<Omit<UserSettings, "updated_at">> = {};
  if (default_provider !== undefined) {
    if (default_provider === null || default_provider === "") out.default_provider = null;
    else if (isProvider(default_provider)) out.default_provider = default_provider;
    else
      throw new ApiError(
        400,
        "invalid_provider",
        "default_provider must be anthropic, openai, google or openrouter.",
      );
  }
  if (default_model !== undefined) {
    if (default_model === null || default_model === "") out.default_model = null;
    else if (typeof default_model === "string" && MODEL.test(default_model))
      out.default_model = default_model;
    else
      throw new ApiError(400, "invalid_model", "default_model must be a model name of up to 100 characters.");
  }
  if (system_prompt !== undefined) {
    if (typeof system_prompt !== "string" || system_prompt.length > MAX_SYSTEM_PROMPT_CHARS) {
      throw new ApiError(
        400,
        "invalid_system_prompt",
        `system_prompt must be text of at most ${MAX_SYSTEM_PROMPT_CHARS} characters.`,
      );
    }
    out.system_prompt = system_prompt;
  }
  if (shell_mode !== undefined) {
    if (!(SHELL_MODES as readonly unknown[]).includes(shell_mode)) {
      throw new ApiError(400, "invalid_shell_mode", "shell_mode must be ask, run or off.");
    }
    out.shell_mode = shell_mode as ShellMode;
  }
  return out;
}

export async function updateUserSettings(
  db: Db,
  actor: { userId: string; ip: string | null },
  body: unknown,
): Promise<UserSettings> {
  const changes = parseSettingsInput(body);
  const values = {
    ...(changes.default_provider !== undefined ? { defaultProvider: changes.default_provider } : {}),
    ...(changes.default_model !== undefined ? { defaultModel: changes.default_model } : {}),
    ...(changes.system_prompt !== undefined ? { systemPrompt: changes.system_prompt } : {}),
    ...(changes.shell_mode !== undefined ? { shellMode: changes.shell_mode } : {}),
    updatedAt: new Date(),
  };
  await asUser(db, actor.userId, (tx) =>
    tx
      .insert(userSettings)
      .values({ userId: actor.userId, ...values })
      .onConflictDoUpdate({ target: userSettings.userId, set: values }),
  );
  // Which fields changed, never their content (a system prompt is the user's own text).
  await audit(db, {
    action: "settings.update",
    userId: actor.userId,
    detail: { fields: Object.keys(changes) },
    ip: actor.ip,
  });
  return getUserSettings(db, actor.userId);
}
