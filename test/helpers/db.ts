// Fresh, migrated databases for tests on both drivers: an in-memory PGlite, and a new database on the
// PostgreSQL cluster that scripts/services.sh starts (CLAWFLEET_TEST_PG_URL), dropped afterwards.
import { afterAll, beforeAll, describe } from "bun:test";
import postgres from "postgres";
import { type Database, type Db, type DbDriver, openDatabase } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { asSystem } from "../../src/db/rls.ts";
import { signIns, users } from "../../src/db/schema.ts";

export const DRIVERS: DbDriver[] = ["pglite", "postgres"];

/** The cluster scripts/services.sh starts (test/preload.ts sets the same default). */
export function testPgUrl(): string {
  return process.env.CLAWFLEET_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:55432/postgres";
}

export type TestDatabase = Database & { url: string | null; drop(): Promise<void> };

/** A new empty PostgreSQL database; returns its URL. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = testPgUrl();
  const name = `cf_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

export async function freshDatabase(
  driver: DbDriver,
  opts: { migrated?: boolean } = {},
): Promise<TestDatabase> {
  let database: Database;
  let url: string | null = null;
  let drop = async () => {};
  if (driver === "postgres") {
    const created = await createPgDatabase();
    url = created.url;
    drop = created.drop;
    database = await openDatabase({ databaseUrl: url, dataDir: null });
  } else {
    database = await openDatabase({ databaseUrl: null, dataDir: null });
  }
  if (opts.migrated !== false) await migrate(database.db);
  return {
    ...database,
    url,
    async drop() {
      await database.close();
      await drop();
    },
    close: () => database.close(),
  };
}

/** Runs the same suite once per driver, each on its own fresh migrated database. */
export function describeEachDriver(title: string, body: (db: () => TestDatabase, driver: DbDriver) => void) {
  for (const driver of DRIVERS) {
    describe(`${title} [${driver}]`, () => {
      let database: TestDatabase | undefined;
      beforeAll(async () => {
        database = await freshDatabase(driver);
      });
      afterAll(async () => {
        await database?.drop();
      });
      body(() => {
        if (!database) throw new Error("database not ready");
        return database;
      }, driver);
    });
  }
}

/** A user with one sign-in (active for a minute unless `signIn` says otherwise), written directly. */
export async function seedSignedInUser(
  db: Db,
  email: string,
  signIn: Partial<typeof signIns.$inferInsert> = {},
): Promise<{ userId: string; signInId: string }> {
  return asSystem(db, async (tx) => {
    const [user] = await tx.insert(users).values({ email, passwordHash: "x" }).returning({ id: users.id });
    if (!user) throw new Error("no user");
    const [row] = await tx
      .insert(signIns)
      .values({
        userId: user.id,
        tokenHash: `h-${email}`,
        salt: "s",
        expiresAt: new Date(Date.now() + 60_000),
        ...signIn,
      })
      .returning({ id: signIns.id });
    return { userId: user.id, signInId: row?.id ?? "" };
  });
}
