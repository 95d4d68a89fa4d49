// Applies the embedded migrations in one transaction under an advisory lock, so replicas starting
// together apply them once. An applied migration whose text changed is refused, not re-run.

import { sql } from "drizzle-orm";
import { sha256Hex } from "../../common/crypto.ts";
import { type EmbeddedMigration, MIGRATIONS } from "../../migrations/index.ts";
import { type Db, rowsOf } from "./client.ts";

const MIGRATION_LOCK = 7_140_001;

export async function migrate(db: Db, migrations: EmbeddedMigration[] = MIGRATIONS): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.execute(sql`create table if not exists _clawfleet_migrations (
      name text primary key, hash text not null, applied_at timestamptz not null default now())`);
    const applied = new Map(
      rowsOf<{ name: string; hash: string }>(
        await tx.execute(sql`select name, hash from _clawfleet_migrations`),
      ).map((row) => [row.name, row.hash]),
    );
    const ran: string[] = [];
    for (const migration of migrations) {
      const hash = sha256Hex(migration.sql);
      const seen = applied.get(migration.name);
      if (seen !== undefined) {
        if (seen !== hash) throw new Error(`migration ${migration.name} was changed after it was applied`);
        continue;
      }
      for (const statement of migration.sql.split("--> statement-breakpoint")) {
        if (statement.trim()) await tx.execute(sql.raw(statement));
      }
      await tx.execute(
        sql`insert into _clawfleet_migrations (name, hash) values (${migration.name}, ${hash})`,
      );
      ran.push(migration.name);
    }
    return ran;
  });
}
