import type { ServerConfig } from "../config.ts";
import { type Db, openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";

/** Opens (and migrates) the configured database for a one-shot command, and always closes it. */
export async function withDatabase<T>(config: ServerConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(database.db);
    return await fn(database.db);
  } finally {
    await database.close();
  }
}
