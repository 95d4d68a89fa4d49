// Row-level security on the tables of migration 0004, on both drivers: forced, and a user sees and
// changes only their own rows; no user id sees nothing.
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem, asUser } from "../../src/db/rls.ts";
import { accountTokens, personalTokens, totpFactors, totpRecoveryCodes, users } from "../../src/db/schema.ts";
import { describeEachDriver } from "../helpers/db.ts";

const TABLES = ["account_tokens", "personal_tokens", "totp_factors", "totp_recovery_codes"];

describeEachDriver("row-level security of the account tables", (db) => {
  async function seed(email: string) {
    return asSystem(db().db, async (tx) => {
      const [user] = await tx.insert(users).values({ email, passwordHash: "x" }).returning({ id: users.id });
      if (!user) throw new Error("no user");
      const userId = user.id;
      await tx.insert(accountTokens).values({
        userId,
        purpose: "password_reset",
        tokenHash: `reset-${email}`,
        email,
        expiresAt: new Date(Date.now() + 60_000),
      });
      await tx.insert(personalTokens).values({ userId, name: "t", tokenHash: `pat-${email}` });
      await tx
        .insert(totpFactors)
        .values({ userId, keyId: "k", nonce: new Uint8Array(12), ciphertext: new Uint8Array(3) });
      await tx.insert(totpRecoveryCodes).values({ userId, codeHash: `code-${email}` });
      return userId;
    });
  }

  test("RLS is enabled and forced", async () => {
    const rows = rowsOf<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      await db().db.execute(sql`select relname, relrowsecurity, relforcerowsecurity from pg_class
        where relname in ('account_tokens', 'personal_tokens', 'totp_factors', 'totp_recovery_codes') order by 1`),
    );
    expect(rows.map((r) => r.relname)).toEqual(TABLES);
    for (const row of rows) expect(row.relrowsecurity && row.relforcerowsecurity).toBe(true);
  });

  test("each user sees and changes only their own rows", async () => {
    const alice = await seed("alice-rls@example.test");
    const bob = await seed("bob-rls@example.test");
    await asUser(db().db, alice, async (tx) => {
      for (const table of [accountTokens, personalTokens, totpFactors, totpRecoveryCodes]) {
        const rows = await tx.select({ userId: table.userId }).from(table);
        expect(rows.map((r) => r.userId)).toEqual([alice]);
      }
      const touched = await tx
        .update(personalTokens)
        .set({ name: "stolen" })
        .returning({ id: personalTokens.id });
      expect(touched).toHaveLength(1);
    });
    // Rows for someone else cannot be written (the policy's WITH CHECK).
    await expect(
      asUser(db().db, alice, async (tx) => {
        await tx.insert(personalTokens).values({ userId: bob, name: "planted", tokenHash: "planted" });
      }),
    ).rejects.toThrow();
    await asUser(db().db, null, async (tx) => {
      for (const table of [accountTokens, personalTokens, totpFactors, totpRecoveryCodes]) {
        expect(await tx.select().from(table)).toEqual([]);
      }
    });
    const names = await asSystem(db().db, (tx) =>
      tx.select({ name: personalTokens.name }).from(personalTokens),
    );
    expect(names.map((n) => n.name).sort()).toEqual(["stolen", "t"]);
  });
});
