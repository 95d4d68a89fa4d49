// The assistant's own settings, kept in the store: for now whether the shell tool asks first.
import type { Database } from "bun:sqlite";

export const SHELL_MODES = ["ask", "run", "off"] as const;
export type ShellMode = (typeof SHELL_MODES)[number];

export class RuntimeSettings {
  constructor(
    private readonly db: Database,
    private readonly defaults: { shellMode: ShellMode },
  ) {}

  shellMode(): ShellMode {
    const row = this.db.query("SELECT value FROM settings WHERE key = 'shell_mode'").get() as {
      value: string;
    } | null;
    return row && (SHELL_MODES as readonly string[]).includes(row.value)
      ? (row.value as ShellMode)
      : this.defaults.shellMode;
  }

  setShellMode(mode: ShellMode): void {
    this.db
      .query(
        `INSERT INTO settings (key, value, updated_at) VALUES ('shell_mode', $mode, $now)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run({ mode, now: Date.now() });
  }

  describe(): { shell_mode: ShellMode } {
    return { shell_mode: this.shellMode() };
  }
}
