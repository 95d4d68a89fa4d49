import { afterAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { parseKeyring } from "../../common/keyring.ts";
import { BACKUP_TABLES, BackupError, createBackup, restoreBackup } from "../../src/cli/backup.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem, asUser } from "../../src/db/rls.ts";
import { auditLog, credentials, signIns, users } from "../../src/db/schema.ts";
import { DRIVERS, freshDatabase, type TestDatabase } from "../helpers/db.ts";

const keyring = parseKeyring(
  "K",
  `new:${Buffer.alloc(32, 1).toString("base64")},old:${Buffer.alloc(32, 2).toString("base64")}`,
  "aes256",
);
const other = parseKeyring("K", `new:${Buffer.alloc(32, 3).toString("base64")}`, "aes256");

async function dump(db: TestDatabase) {
  const out: Record<string, unknown[]> = {};
  await asSystem(db.db, async (tx) => {
    for (const table of BACKUP_TABLES) {
      out[table] = rowsOf(await tx.execute(sql.raw(`select * from ${table} order by 1, 2`)));
    }
  });
  return JSON.parse(JSON.stringify(out));
}

for (const driver of DRIVERS) {
  describe(`backup and restore [${driver}]`, () => {
    const opened: TestDatabase[] = [];
    afterAll(async () => {
      for (const db of opened) await db.drop();
    });

    test("round trip into an empty database restores every row exactly", async () => {
      const source = await freshDatabase(driver);
      opened.push(source);
      const [user] = await asSystem(source.db, (tx) =>
        tx.insert(users).values({ email: "backup@example.test", passwordHash: "$argon2id$x" }).returning(),
      );
      const userId = user?.id ?? "";
      await asUser(source.db, userId, async (tx) => {
        await tx
          .insert(signIns)
          .values({ userId, salt: "s", tokenHash: "h", expiresAt: new Date(Date.now() + 1000) });
        await tx.insert(credentials).values({
          userId,
          provider: "anthropic",
          keyId: "new",
          nonce: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
          ciphertext: new Uint8Array([200, 0, 7, 255]),
          keyPreview: "sk-ant-…abcd",
        });
        await tx.insert(auditLog).values({ userId, action: "test", detail: { nested: { a: [1, "two"] } } });
      });
      const file = await createBackup(source.db, keyring);
      expect(new TextDecoder().decode(file)).not.toContain("backup@example.test");

      const target = await freshDatabase(driver);
      opened.push(target);
      const counts = await restoreBackup(target.db, file, keyring);
      expect(counts.users).toBe(1);
      expect(await dump(target)).toEqual(await dump(source));
      const [cred] = await asSystem(target.db, (tx) =>
        tx.select().from(credentials).where(eq(credentials.userId, userId)),
      );
      expect([...(cred?.ciphertext ?? [])]).toEqual([200, 0, 7, 255]);
      // Sequences continue after the restored ids.
      await asSystem(target.db, (tx) => tx.insert(auditLog).values({ action: "after-restore" }));
    });

    test("restore refuses a non-empty database, a wrong keyring and a damaged file", async () => {
      const source = await freshDatabase(driver);
      opened.push(source);
      await asSystem(source.db, (tx) =>
        tx.insert(users).values({ email: "x@example.test", passwordHash: "h" }),
      );
      const file = await createBackup(source.db, keyring);
      await expect(restoreBackup(source.db, file, keyring)).rejects.toThrow(/empty database/);
      const empty = await freshDatabase(driver);
      opened.push(empty);
      await expect(restoreBackup(empty.db, file, other)).rejects.toThrow(BackupError);
      const damaged = file.slice();
      damaged[damaged.length - 5] = (damaged[damaged.length - 5] ?? 0) ^ 1;
      await expect(restoreBackup(empty.db, damaged, keyring)).rejects.toThrow(/damaged/);
      const [n] = rowsOf<{ n: number }>(
        await asSystem(empty.db, (tx) => tx.execute(sql`select count(*)::int as n from users`)),
      );
      expect(n?.n).toBe(0);
    });
  });
}
