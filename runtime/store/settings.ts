// The assistant's own settings, kept in the store: whether the shell tool asks first, and the user's
// chat defaults (provider, model, system prompt), which the console sends from the user's clawfleet
// settings. A setting never set falls back to the environment the container was started with.
import type { Database } from "bun:sqlite";
import { type ProviderId, parseProviderId } from "../config.ts";

export const SHELL_MODES = ["ask", "run", "off"] as const;
export type ShellMode = (typeof SHELL_MODES)[number];
export const SETTINGS_SHELL_MODES = SHELL_MODES;
export const MAX_SYSTEM_PROMPT_CHARS = 8_000;

type Key = "shell_mode" | "default_provider" | "default_model" | "system_prompt";

export type SettingsUpdate = {
  shell_mode?: ShellMode;
  /** null clears back to the container's default. */
  default_provider?: ProviderId | null;
  default_model?: string | null;
  system_prompt?: string | null;
};

export class RuntimeSettings {
  constructor(
    private readonly db: Database,
    private readonly defaults: { shellMode: ShellMode },
  ) {}

  private get(key: Key): string | null {
    const row = this.db.query("SELECT value FROM settings WHERE key = $key").get({ key }) as {
      value: string;
    } | null;
    return row?.value ?? null;
  }

  private put(key: Key, value: string | null): void {
    if (value === null) {
      this.db.query("DELETE FROM settings WHERE key = $key").run({ key });
      return;
    }
    this.db
      .query(
        `INSERT INTO settings (key, value, updated_at) VALUES ($key, $value, $now)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run({ key, value, now: Date.now() });
  }

  shellMode(): ShellMode {
    const value = this.get("shell_mode");
    return value && (SHELL_MODES as readonly string[]).includes(value)
      ? (value as ShellMode)
      : this.defaults.shellMode;
  }

  setShellMode(mode: ShellMode): void {
    this.put("shell_mode", mode);
  }

  defaultProvider(): ProviderId | null {
    const value = this.get("default_provider");
    return value ? parseProviderId(value) : null;
  }

  defaultModel(): string | null {
    return this.get("default_model");
  }

  systemPrompt(): string | null {
    return this.get("system_prompt");
  }

  update(update: SettingsUpdate): void {
    this.db.transaction(() => {
      if (update.shell_mode !== undefined) this.put("shell_mode", update.shell_mode);
      if (update.default_provider !== undefined) this.put("default_provider", update.default_provider);
      if (update.default_model !== undefined) this.put("default_model", update.default_model || null);
      if (update.system_prompt !== undefined) this.put("system_prompt", update.system_prompt || null);
    })();
  }

  describe(): Record<string, unknown> {
    return {
      shell_mode: this.shellMode(),
      default_provider: this.defaultProvider(),
      default_model: this.defaultModel(),
      system_prompt: this.systemPrompt(),
    };
  }
}
