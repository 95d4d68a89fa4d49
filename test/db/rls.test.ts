import { expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem, asUser } from "../../src/db/rls.ts";
import { agentSessions, auditLog, credentials, signIns, users } from "../../src/db/schema.ts";
import { describeEachDriver } from "../helpers/db.ts";

describeEachDriver("row-level security through the app's connection helper", (db) => {
  let alice = "";
  let bob = "";

  async function seed(email: string) {
    return asSystem(db().db, async (tx) => {
      const [user] = await tx.insert(users).values({ email, passwordHash: "x" }).returning({ id: users.id });
      if (!user) throw new Error("no user");
      await tx.insert(signIns).values({
        userId: user.id,
        tokenHash: `hash-${email}`,
        salt: "s",
        expiresAt: new Date(Date.now() + 60_000),
      });
      await tx.insert(credentials).values({
        userId: user.id,
        provider: "openai",
        keyId: "k1",
        nonce: new Uint8Array(12),
        ciphertext: new Uint8Array([1, 2, 3]),
        keyPreview: "sk-…abcd",
      });
      await tx.insert(agentSessions).values({ userId: user.id, state: "running" });
      await tx.insert(auditLog).values({ userId: user.id, action: "test.seed" });
      return user.id;
    });
  }

  test("setup", async () => {
    alice = await seed("alice@example.test");
    bob = await seed("bob@example.test");
    expect(alice).not.toBe(bob);
  });

  test("a user sees only their own rows in every user-owned table", async () => {
    await asUser(db().db, alice, async (tx) => {
      expect((await tx.select().from(users)).map((u) => u.id)).toEqual([alice]);
      for (const table of [signIns, credentials, agentSessions, auditLog]) {
        const rows = await tx.select({ userId: table.userId }).from(table);
        expect(rows.length).toBe(1);
        expect(rows[0]?.userId).toBe(alice);
      }
    });
  });

  test("a user cannot read bob's rows even by id", async () => {
    const rows = await asUser(db().db, alice, (tx) => tx.select().from(users).where(eq(users.id, bob)));
    expect(rows).toEqual([]);
  });

  test("a user cannot update or delete another user's rows", async () => {
    await asUser(db().db, alice, async (tx) => {
      const updated = await tx
        .update(agentSessions)
        .set({ state: "failed" })
        .where(eq(agentSessions.userId, bob))
        .returning();
      expect(updated).toEqual([]);
      const deleted = await tx.delete(credentials).where(eq(credentials.userId, bob)).returning();
      expect(deleted).toEqual([]);
      const deletedUser = await tx.delete(users).where(eq(users.id, bob)).returning();
      expect(deletedUser).toEqual([]);
    });
    const bobRows = await asSystem(db().db, async (tx) => ({
      session: await tx.select().from(agentSessions).where(eq(agentSessions.userId, bob)),
      creds: await tx.select().from(credentials).where(eq(credentials.userId, bob)),
      user: await tx.select().from(users).where(eq(users.id, bob)),
    }));
    expect(bobRows.session[0]?.state).toBe("running");
    expect(bobRows.creds).toHaveLength(1);
    expect(bobRows.user).toHaveLength(1);
  });

  test("a user cannot insert rows owned by someone else", async () => {
    await expect(
      asUser(db().db, alice, (tx) =>
        tx.insert(auditLog).values({ userId: bob, action: "forged" }).returning({ id: auditLog.id }),
      ),
    ).rejects.toThrow();
  });

  test("the app role cannot make itself admin", async () => {
    await expect(
      asUser(db().db, alice, (tx) => tx.update(users).set({ isAdmin: true }).where(eq(users.id, alice))),
    ).rejects.toThrow();
  });

  test("a query with no user id sees nothing", async () => {
    await asUser(db().db, null, async (tx) => {
      for (const table of [users, signIns, credentials, agentSessions, auditLog]) {
        expect(await tx.select().from(table)).toEqual([]);
      }
    });
    await asUser(db().db, "not-a-uuid", async (tx) => {
      expect(await tx.select().from(users)).toEqual([]);
    });
  });

  test("the role and user id do not leak past the transaction", async () => {
    await asUser(db().db, alice, async () => {});
    const [row] = rowsOf<{ role: string; uid: string | null }>(
      await db().db.execute(sql`select current_user as role, current_setting('app.user_id', true) as uid`),
    );
    expect(row?.role).not.toBe("clawfleet_app");
    expect(row?.uid ?? "").toBe("");
  });
});
