import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { MIGRATIONS } from "../../migrations/index.ts";
import journal from "../../migrations/meta/_journal.json";
import { rowsOf } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { describeEachDriver, freshDatabase } from "../helpers/db.ts";

test("every drizzle-kit migration is embedded, in journal order", () => {
  expect(MIGRATIONS.map((m) => m.name)).toEqual(journal.entries.map((e) => e.tag));
});

describeEachDriver("migrations", (db) => {
  test("a second run applies nothing", async () => {
    expect(await migrate(db().db)).toEqual([]);
  });

  test("a migration changed after it was applied is refused", async () => {
    const changed = MIGRATIONS.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    await expect(migrate(db().db, changed)).rejects.toThrow(/was changed/);
  });

  test("the app and system roles are neither superuser nor BYPASSRLS", async () => {
    const roles = rowsOf<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>(
      await db().db.execute(
        sql`select rolname, rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname like 'clawfleet_%' order by 1`,
      ),
    );
    expect(roles.map((r) => r.rolname)).toEqual(["clawfleet_app", "clawfleet_system"]);
    for (const role of roles) {
      expect(role.rolsuper).toBe(false);
      expect(role.rolbypassrls).toBe(false);
      expect(role.rolcanlogin).toBe(false);
    }
  });

  test("RLS is enabled and forced on every user-owned table", async () => {
    const tables = rowsOf<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      await db().db.execute(sql`select relname, relrowsecurity, relforcerowsecurity from pg_class
        where relname in ('users', 'auth_sessions', 'credentials', 'agent_sessions', 'audit_log', 'token_usage') order by 1`),
    );
    expect(tables).toHaveLength(6);
    for (const table of tables) {
      expect(table.relrowsecurity).toBe(true);
      expect(table.relforcerowsecurity).toBe(true);
    }
  });

  test("plans are seeded", async () => {
    const plans = rowsOf<{ id: string; api_requests_per_minute: number }>(
      await db().db.execute(
        sql`select id, api_requests_per_minute from plans order by api_requests_per_minute`,
      ),
    );
    expect(plans.map((p) => [p.id, p.api_requests_per_minute])).toEqual([
      ["free", 30],
      ["pro", 120],
      ["ultra", 300],
    ]);
  });
});

describe("several databases on one PostgreSQL server", () => {
  test("migrate concurrently and share the cluster-wide roles safely", async () => {
    const databases = await Promise.all([1, 2, 3].map(() => freshDatabase("postgres", { migrated: false })));
    try {
      const results = await Promise.all(databases.map((d) => migrate(d.db)));
      for (const applied of results) expect(applied).toEqual(MIGRATIONS.map((m) => m.name));
    } finally {
      await Promise.all(databases.map((d) => d.drop()));
    }
  });
});
