// The runtime's one database, `<data dir>/runtime.sqlite` (bun:sqlite, WAL). Everything the assistant
// keeps lives in it, so it survives a container restart and goes with the data volume.
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export const STORE_FILE = "runtime.sqlite";

// Applied in order; PRAGMA user_version records how many ran. Append, never edit.
const MIGRATIONS: string[] = [
  `CREATE TABLE conversations (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     channel TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX conversations_updated ON conversations (updated_at DESC);
   CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
     content TEXT NOT NULL,
     provider TEXT,
     model TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX messages_conversation ON messages (conversation_id, id);
   CREATE TABLE memory (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     content TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE channels (
     name TEXT PRIMARY KEY,
     settings TEXT NOT NULL,
     sealed_secret TEXT,
     state TEXT NOT NULL DEFAULT '{}',
     updated_at INTEGER NOT NULL
   );`,
  `CREATE TABLE schedules (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     prompt TEXT NOT NULL,
     cron TEXT,
     next_run_at INTEGER,
     last_run_at INTEGER,
     last_status TEXT,
     conversation_id TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX schedules_next ON schedules (next_run_at);
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE tool_calls (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     after_message_id INTEGER NOT NULL,
     call_id TEXT NOT NULL,
     name TEXT NOT NULL,
     input TEXT NOT NULL,
     output TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX tool_calls_conversation ON tool_calls (conversation_id, after_message_id);`,
];

export function openStore(dataDir: string): Database {
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, STORE_FILE);
  const db = new Database(path, { create: true, strict: true });
  chmodSync(path, 0o600);
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA foreign_keys = ON");
  db.run("PRAGMA busy_timeout = 5000");
  migrate(db);
  return db;
}

function migrate(db: Database): void {
  const row = db.query("PRAGMA user_version").get() as { user_version: number };
  const current = row.user_version;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `${STORE_FILE} was written by a newer runtime (schema ${current} > ${MIGRATIONS.length})`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.run(MIGRATIONS[version] as string);
      db.run(`PRAGMA user_version = ${version + 1}`);
    })();
  }
}
