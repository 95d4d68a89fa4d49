// Per-channel settings: non-secret settings as JSON, the credential sealed (secret_box.ts), and the
// connector's own state (e.g. Telegram's update offset, so a restart does not answer twice).
import type { Database } from "bun:sqlite";

export type ChannelRecord = {
  name: string;
  settings: Record<string, unknown>;
  sealedSecret: string | null;
  state: Record<string, unknown>;
  updatedAt: number;
};

type Row = {
  name: string;
  settings: string;
  sealed_secret: string | null;
  state: string;
  updated_at: number;
};

export class Channels {
  constructor(private readonly db: Database) {}

  get(name: string): ChannelRecord | null {
    const row = this.db.query("SELECT * FROM channels WHERE name = $name").get({ name }) as Row | null;
    if (!row) return null;
    return {
      name: row.name,
      settings: JSON.parse(row.settings) as Record<string, unknown>,
      sealedSecret: row.sealed_secret,
      state: JSON.parse(row.state) as Record<string, unknown>,
      updatedAt: row.updated_at,
    };
  }

  /** Saves settings and, when given, a new sealed secret; keeps the state. */
  put(name: string, settings: Record<string, unknown>, sealedSecret: string | undefined): void {
    this.db
      .query(
        `INSERT INTO channels (name, settings, sealed_secret, updated_at) VALUES ($name, $settings, $secret, $now)
         ON CONFLICT (name) DO UPDATE SET settings = excluded.settings,
           sealed_secret = coalesce($secret, channels.sealed_secret), updated_at = excluded.updated_at`,
      )
      .run({ name, settings: JSON.stringify(settings), secret: sealedSecret ?? null, now: Date.now() });
  }

  /** A new credential starts with fresh connector state. */
  resetState(name: string): void {
    this.db.query("UPDATE channels SET state = '{}' WHERE name = $name").run({ name });
  }

  updateState(name: string, patch: Record<string, unknown>): void {
    const current = this.get(name);
    if (!current) return;
    const state = { ...current.state, ...patch };
    this.db
      .query("UPDATE channels SET state = $state WHERE name = $name")
      .run({ name, state: JSON.stringify(state) });
  }

  delete(name: string): boolean {
    return this.db.query("DELETE FROM channels WHERE name = $name").run({ name }).changes > 0;
  }
}
