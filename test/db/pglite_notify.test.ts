// What the embedded API cache (src/http/embedded_auth_cache.ts) rests on: PGlite hands a NOTIFY to its
// listener before the promise of the committing statement resolves, and for a drizzle transaction
// before the transaction's promise resolves; a rolled-back transaction notifies nothing. Checked on
// the real triggers of migrations/0013_pglitecache.sql.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { asSystem } from "../../src/db/rls.ts";
import { plans, signIns, users } from "../../src/db/schema.ts";
import { API_CACHE_CHANNEL } from "../../src/http/embedded_auth_cache.ts";
import { freshDatabase, seedSignedInUser, type TestDatabase } from "../helpers/db.ts";

describe("PGlite delivers a NOTIFY before the writing statement resolves", () => {
  let database: TestDatabase;
  const received: string[] = [];
  let stop: () => Promise<void>;

  beforeAll(async () => {
    database = await freshDatabase("pglite");
    stop = await database.listen(API_CACHE_CHANNEL, (payload) => received.push(payload));
  });
  afterAll(async () => {
    await stop();
    await database.drop();
  });

  const seedUser = (email: string) => seedSignedInUser(database.db, email);

  test("an autocommit statement on the driver", async () => {
    const { signInId } = await seedUser("autocommit@example.test");
    received.length = 0;
    // Seen right after the await, with nothing else awaited in between.
    await database.query("update auth_sessions set revoked_at = now() where id = $1", [signInId]);
    expect(received).toEqual([`sign_in:${signInId}`]);
  });

  test("drizzle's execute outside a transaction", async () => {
    const { userId } = await seedUser("execute@example.test");
    received.length = 0;
    await database.db.execute(sql`update users set plan_id = 'pro' where id = ${userId}`);
    expect(received).toEqual([`user:${userId}`]);
  });

  test("a drizzle transaction: at its commit, before its promise resolves", async () => {
    const { userId, signInId } = await seedUser("transaction@example.test");
    received.length = 0;
    const seenInside: string[] = [];
    await asSystem(database.db, async (tx) => {
      await tx.update(signIns).set({ revokedAt: new Date() }).where(eq(signIns.id, signInId));
      await tx.update(users).set({ planId: "ultra" }).where(eq(users.id, userId));
      seenInside.push(...received);
    });
    // Not before the commit (another request must not refill from a row not yet committed, and the
    // committed one is what the cache reads next), then both at once.
    expect(seenInside).toEqual([]);
    expect(received.sort()).toEqual([`sign_in:${signInId}`, `user:${userId}`].sort());
  });

  test("a rolled-back transaction notifies nothing", async () => {
    const { signInId } = await seedUser("rollback@example.test");
    received.length = 0;
    const failed = asSystem(database.db, async (tx) => {
      await tx.update(signIns).set({ revokedAt: new Date() }).where(eq(signIns.id, signInId));
      throw new Error("abort");
    });
    await expect(failed).rejects.toThrow("abort");
    expect(received).toEqual([]);
  });

  test("a plan edit, a node rename and a cascade of a user's deletion are each notified", async () => {
    const { userId, signInId } = await seedUser("cascade@example.test");
    received.length = 0;
    await asSystem(database.db, (tx) =>
      tx.update(plans).set({ apiRequestsPerMinute: 31 }).where(eq(plans.id, "free")),
    );
    expect(received).toEqual(["plan:free"]);
    received.length = 0;
    await asSystem(database.db, (tx) => tx.delete(users).where(eq(users.id, userId)));
    expect(received.sort()).toEqual([`sign_in:${signInId}`, `user:${userId}`].sort());
    received.length = 0;
    const [node] = await database.query<{ id: string }>(
      "insert into nodes (name, url, fingerprint) values ('n1', 'https://127.0.0.1:1', 'f') returning id",
      [],
    );
    expect(received).toEqual([]);
    await database.query("update nodes set last_seen_at = now() where id = $1", [node?.id]);
    expect(received).toEqual([]);
    await database.query("update nodes set name = 'n2' where id = $1", [node?.id]);
    expect(received).toEqual([`node:${node?.id}`]);
  });
});
