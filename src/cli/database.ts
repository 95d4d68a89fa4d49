import type { ServerConfig } from "../config.ts";
import { type Db, openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";

// Set while `serve` runs: commands arriving on its admin socket use the server's own connection
// (the embedded database allows one process at a time) and must not close it.
let serving: Db | null = null;

export function useServingDatabase(db: Db | null): void {
  serving = db;
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
