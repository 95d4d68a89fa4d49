import type { ServerConfig } from "../config.ts";
import { type Db, openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";
import type { LiveLimitsApplier } from "../sessions/live_limits.ts";

// Set while `serve` runs: commands arriving on its admin socket use the server's own connection
// (the embedded database allows one process at a time) and must not close it.
let serving: Db | null = null;

let servingLimits: LiveLimitsApplier | null = null;

export function useServingDatabase(db: Db | null, liveLimits: LiveLimitsApplier | null = null): void {
  serving = db;
  servingLimits = db ? liveLimits : null;
}

/** While `serve` runs: how a plan change reaches a running container (its node's agent), else null. */
export function servingLiveLimits(): LiveLimitsApplier | null {
  return servingLimits;
}

/** Opens (and migrates) the configured database for a one-shot command, and always closes it. */
export async function withDatabase<T>(config: ServerConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  if (serving) return fn(serving);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(database.db);
    return await fn(database.db);
  } finally {
    await database.close();
  }
}
