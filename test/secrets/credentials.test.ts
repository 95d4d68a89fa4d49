import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { parseKeyring } from "../../common/keyring.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { credentials, users } from "../../src/db/schema.ts";
import {
  addCredential,
  CredentialInputError,
  deleteCredential,
  listCredentials,
} from "../../src/secrets/credentials.ts";
import { loadMasterKeyring } from "../../src/secrets/master_keys.ts";
import { rotateCredentials } from "../../src/secrets/rotate.ts";
import { decryptSecretsForSpawn } from "../../src/secrets/spawn_secrets.ts";
import { DRIVERS, describeEachDriver } from "../helpers/db.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const k = (n: number) => Buffer.alloc(32, n).toString("base64");
const oldRing = await loadMasterKeyring({
  masterKeys: parseKeyring("K", `old:${k(1)}`, "aes256"),
  dataDir: "/x",
});
const newRing = await loadMasterKeyring({
  masterKeys: parseKeyring("K", `new:${k(2)},old:${k(1)}`, "aes256"),
  dataDir: "/x",
});
const ANTHROPIC = "sk-ant-api03-PLAINTEXT-CANARY-aaaaaaaaaaaaaaaa";
const OPENAI = "sk-proj-PLAINTEXT-CANARY-bbbbbbbbbbbbbbbbbbbb";

async function dumpDatabase(db: Parameters<typeof asSystem>[0]): Promise<string> {
  return asSystem(db, async (tx) => {
    const tables = rowsOf<{ tablename: string }>(
      await tx.execute(sql`select tablename from pg_tables where schemaname = 'public'`),
    );
    const parts: string[] = [];
    for (const { tablename } of tables) {
      const rows = rowsOf<{ row: unknown }>(
        await tx.execute(sql.raw(`select row_to_json(t)::text as row from "${tablename}" t`)),
      );
      parts.push(...rows.map((r) => String(r.row)));
    }
    return parts.join("\n");
  });
}

describeEachDriver("credentials service", (db) => {
  let alice = "";
  let bob = "";
  beforeAll(async () => {
    const made = await asSystem(db().db, (tx) =>
      tx
        .insert(users)
        .values([
          { email: "a@example.test", passwordHash: "x" },
          { email: "b@example.test", passwordHash: "x" },
        ])
        .returning(),
    );
    alice = made[0]?.id ?? "";
    bob = made[1]?.id ?? "";
  });

  test("add, list previews only, replace per provider, delete", async () => {
    const added = await addCredential(db().db, oldRing, alice, "anthropic", ANTHROPIC);
    expect(added.replaced).toBe(false);
    expect(added.credential.key_preview).toBe("sk-ant-…aaaa");
    expect(JSON.stringify(added)).not.toContain(ANTHROPIC);
    await addCredential(db().db, oldRing, alice, "openai", OPENAI);
    const replaced = await addCredential(
      db().db,
      oldRing,
      alice,
      "anthropic",
      ANTHROPIC.replace(/a{4}$/, "zzzz"),
    );
    expect(replaced.replaced).toBe(true);
    const list = await listCredentials(db().db, alice);
    expect(list.map((c) => c.provider)).toEqual(["anthropic", "openai"]);
    expect(Object.keys(list[0] ?? {}).sort()).toEqual(["created_at", "id", "key_preview", "provider"]);
    expect((await decryptSecretsForSpawn(db().db, oldRing, alice)).anthropic).toBe(
      ANTHROPIC.replace(/a{4}$/, "zzzz"),
    );
    await addCredential(db().db, oldRing, alice, "anthropic", ANTHROPIC);
  });

  test("bad input is refused with no row written", async () => {
    await expect(addCredential(db().db, oldRing, bob, "openai", ANTHROPIC)).rejects.toBeInstanceOf(
      CredentialInputError,
    );
    await expect(addCredential(db().db, oldRing, bob, "nope", OPENAI)).rejects.toBeInstanceOf(
      CredentialInputError,
    );
    expect(await listCredentials(db().db, bob)).toEqual([]);
  });

  test("RLS: bob can neither see nor delete alice's key, even by id", async () => {
    const [aliceKey] = await listCredentials(db().db, alice);
    expect(await listCredentials(db().db, bob)).toEqual([]);
    expect(await deleteCredential(db().db, bob, aliceKey?.id ?? "")).toBe(false);
    expect(await decryptSecretsForSpawn(db().db, oldRing, bob)).toEqual({});
    expect(await listCredentials(db().db, alice)).toHaveLength(2);
  });

  test("a ciphertext moved to another user's row or provider does not decrypt", async () => {
    await addCredential(db().db, oldRing, bob, "anthropic", "sk-ant-api03-BOBS-OWN-KEY-cccccccccccccccc");
    const [aliceRow] = await asSystem(db().db, (tx) =>
      tx.select().from(credentials).where(eq(credentials.userId, alice)).limit(1),
    );
    await asSystem(db().db, (tx) =>
      tx
        .update(credentials)
        .set({ nonce: aliceRow?.nonce, ciphertext: aliceRow?.ciphertext })
        .where(eq(credentials.userId, bob)),
    );
    await expect(decryptSecretsForSpawn(db().db, oldRing, bob)).rejects.toThrow(/could not be decrypted/);
    await asSystem(db().db, (tx) => tx.delete(credentials).where(eq(credentials.userId, bob)));
  });

  test("rotation re-encrypts every row under the newest key, resumably", async () => {
    const before = await decryptSecretsForSpawn(db().db, oldRing, alice);
    const partial = await rotateCredentials(db().db, newRing, { limit: 1 });
    expect(partial.rotated).toBe(1);
    const rest = await rotateCredentials(db().db, newRing);
    expect(rest.rotated).toBe(1);
    const keyIds = await asSystem(db().db, (tx) => tx.select({ keyId: credentials.keyId }).from(credentials));
    expect(keyIds.every((r) => r.keyId === "new")).toBe(true);
    expect(await decryptSecretsForSpawn(db().db, newRing, alice)).toEqual(before);
    expect((await rotateCredentials(db().db, newRing)).rotated).toBe(0);
  });

  test("rows under an unknown master key are reported, not skipped silently", async () => {
    await asSystem(db().db, (tx) =>
      tx.update(credentials).set({ keyId: "lost" }).where(eq(credentials.provider, "openai")),
    );
    const report = await rotateCredentials(db().db, newRing);
    expect(report.unknownKeyIds).toEqual(["lost"]);
  });

  test("account deletion removes the ciphertext for good", async () => {
    await asSystem(db().db, (tx) => tx.delete(users).where(eq(users.id, alice)));
    const left = await asSystem(db().db, (tx) =>
      tx.select().from(credentials).where(eq(credentials.userId, alice)),
    );
    expect(left).toEqual([]);
  });
});

for (const driver of DRIVERS) {
  describe(`no plaintext key leaks through the API [${driver}]`, () => {
    let server: TestServer;
    const responses: string[] = [];
    beforeAll(async () => {
      server = await startTestServer(driver);
    });
    afterAll(() => server.close());

    test("add, list, spawn request built, errors provoked: the key is in no log, response or table", async () => {
      const call = async (path: string, init: RequestInit = {}) => {
        const r = await fetch(`${server.url}/api/v1${path}`, init);
        const text = await r.text();
        responses.push(`${r.status} ${[...r.headers].join(";")} ${text}`);
        return { status: r.status, body: text ? JSON.parse(text) : null };
      };
      const signup = await call("/auth/signup", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          email: `leak-${driver}@example.test`,
          password: "correct horse battery staple",
        }),
      });
      const auth = {
        authorization: `Bearer ${signup.body.access_token}`,
        "content-type": "application/json",
      };
      const add = await call("/credentials", {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ provider: "anthropic", key: ANTHROPIC }),
      });
      expect(add.status).toBe(201);
      expect(add.body.credential.key_preview).toBe("sk-ant-…aaaa");
      // Errors: the key under the wrong provider, garbage around it, an unknown id, a malformed body.
      expect(
        (
          await call("/credentials", {
            method: "POST",
            headers: auth,
            body: JSON.stringify({ provider: "openai", key: ANTHROPIC }),
          })
        ).status,
      ).toBe(400);
      expect(
        (
          await call("/credentials", {
            method: "POST",
            headers: auth,
            body: JSON.stringify({ provider: "anthropic", key: `${ANTHROPIC} ${ANTHROPIC}` }),
          })
        ).status,
      ).toBe(400);
      expect(
        (
          await call("/credentials", {
            method: "POST",
            headers: auth,
            body: `{"provider":"anthropic","key":"${ANTHROPIC}"`,
          })
        ).status,
      ).toBe(400);
      expect(
        (await call(`/credentials/${crypto.randomUUID()}`, { method: "DELETE", headers: auth })).status,
      ).toBe(404);
      expect((await call("/credentials/not-a-uuid", { method: "DELETE", headers: auth })).status).toBe(404);
      const list = await call("/credentials", { headers: auth });
      expect(list.body.credentials).toHaveLength(1);
      // The spawn request's secrets are built from the same store.
      const spawnSecrets = await decryptSecretsForSpawn(
        server.ctx.database.db,
        server.ctx.keyring,
        signup.body.user.id,
      );
      expect(spawnSecrets.anthropic).toBe(ANTHROPIC);

      const dump = await dumpDatabase(server.ctx.database.db);
      expect(dump).toContain("sk-ant-…aaaa");
      for (const haystack of [server.logs.join("\n"), responses.join("\n"), dump]) {
        expect(haystack).not.toContain(ANTHROPIC);
        expect(haystack).not.toContain("PLAINTEXT-CANARY");
      }
      // Deleting the key removes the ciphertext.
      const id = list.body.credentials[0].id;
      expect((await call(`/credentials/${id}`, { method: "DELETE", headers: auth })).status).toBe(204);
      const rows = await asSystem(server.ctx.database.db, (tx) => tx.select().from(credentials));
      expect(rows).toEqual([]);
    });
  });
}
