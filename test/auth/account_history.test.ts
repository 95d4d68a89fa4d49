// What is kept about a person: the data export (everything, never a secret), deletion (login
// attempts gone, audit entries pseudonymized), and retention of history, on both drivers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, or, sql } from "drizzle-orm";
import { pruneHistory } from "../../src/auth/account_history.ts";
import { asSystem } from "../../src/db/rls.ts";
import { auditLog, loginAttempts } from "../../src/db/schema.ts";
import { apiClient, PASSWORD } from "../helpers/accounts.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

const KEY = `sk-ant-api03-${"k".repeat(40)}a1b2`;

for (const driver of DRIVERS) {
  describe(`account data [${driver}]`, () => {
    let server: TestServer;
    const api = apiClient(() => server);

    beforeAll(async () => {
      server = await startTestServer(driver);
    });
    afterAll(() => server.close());

    test("the export holds the account, key metadata, sign-ins, tokens and audit, never a secret", async () => {
      const account = await api.signup();
      await api.login(account.email, "wrong password here");
      expect(
        (await api.call("POST", "/credentials", { provider: "anthropic", key: KEY }, account.access)).status,
      ).toBe(201);
      const pat = await json(await api.call("POST", "/tokens", { name: "backup script" }, account.access));
      const response = await api.call("GET", "/account/export", undefined, account.access);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-disposition")).toContain("attachment");
      const text = await response.text();
      const data = JSON.parse(text);
      expect(data.account).toMatchObject({ id: account.userId, email: account.email, plan: "free" });
      expect(data.provider_keys).toEqual([
        expect.objectContaining({ provider: "anthropic", key_preview: expect.stringMatching(/a1b2$/) }),
      ]);
      expect(data.sign_ins.length).toBeGreaterThanOrEqual(1);
      expect(data.sign_in_attempts).toContainEqual(expect.objectContaining({ success: false }));
      expect(data.personal_access_tokens).toEqual([
        expect.objectContaining({ id: pat.id, name: "backup script" }),
      ]);
      const actions = data.audit_entries.map((e: { action: string }) => e.action);
      expect(actions).toContain("account.signup");
      expect(actions).toContain("token.created");
      for (const secret of [
        KEY,
        KEY.slice(10, 40),
        pat.token,
        account.refresh,
        account.access,
        "$argon2id",
      ]) {
        expect(text).not.toContain(secret);
      }
    });

    test("deleting an account removes its sign-in attempts and pseudonymizes its audit entries", async () => {
      const account = await api.signup();
      const other = await api.signup();
      await api.login(account.email, "wrong password here");
      await api.login(account.email, PASSWORD);
      await api.login(other.email, PASSWORD);
      const db = server.ctx.database.db;
      const attempts = () =>
        asSystem(db, (tx) => tx.select().from(loginAttempts).where(eq(loginAttempts.email, account.email)));
      expect((await attempts()).length).toBe(2);
      const deleted = await api.call("DELETE", "/account", { password: PASSWORD }, account.access);
      expect(deleted.status).toBe(204);

      expect(await attempts()).toEqual([]);
      const mine = await asSystem(db, (tx) =>
        tx
          .select()
          .from(auditLog)
          .where(or(eq(auditLog.userId, account.userId), eq(auditLog.actorId, account.userId))),
      );
      expect(mine).toEqual([]);
      const [deletion] = await asSystem(db, (tx) =>
        tx.select().from(auditLog).where(eq(auditLog.action, "account.deleted")),
      );
      expect(deletion?.userId).toMatch(/^[0-9a-f-]{36}$/);
      expect(deletion?.userId).not.toBe(account.userId);
      expect(deletion?.ip).toBeNull();
      // The same pseudonym ties the deleted account's events together, and nobody else's changed.
      const pseudonymous = await asSystem(db, (tx) =>
        tx
          .select()
          .from(auditLog)
          .where(eq(auditLog.userId, deletion?.userId ?? "")),
      );
      expect(pseudonymous.map((e) => e.action)).toEqual(
        expect.arrayContaining(["account.signup", "auth.login"]),
      );
      const others = await asSystem(db, (tx) =>
        tx.select().from(auditLog).where(eq(auditLog.userId, other.userId)),
      );
      expect(others.length).toBeGreaterThan(0);
      expect(others.every((e) => e.ip !== null)).toBe(true);
      expect((await api.call("GET", "/account/export", undefined, account.access)).status).toBe(401);
    });

    test("history older than the retention settings is deleted", async () => {
      const db = server.ctx.database.db;
      const old = new Date(Date.now() - 40 * 86_400_000);
      await asSystem(db, async (tx) => {
        await tx.insert(auditLog).values({ action: "test.old", createdAt: old });
        await tx.insert(auditLog).values({ action: "test.recent" });
        await tx
          .insert(loginAttempts)
          .values({ email: "old@example.test", ip: "192.0.2.1", success: false, createdAt: old });
      });
      await pruneHistory(db, { auditMs: 30 * 86_400_000, loginMs: 30 * 86_400_000 });
      const left = await asSystem(db, (tx) =>
        tx.select({ action: auditLog.action }).from(auditLog).where(sql`${auditLog.action} like 'test.%'`),
      );
      expect(left.map((r) => r.action)).toEqual(["test.recent"]);
      const oldAttempts = await asSystem(db, (tx) =>
        tx.select().from(loginAttempts).where(eq(loginAttempts.email, "old@example.test")),
      );
      expect(oldAttempts).toEqual([]);
    });
  });
}
