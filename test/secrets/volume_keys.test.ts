import { beforeAll, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { parseKeyring } from "../../common/keyring.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem, asUser } from "../../src/db/rls.ts";
import { agentSessions, users, volumeKeys } from "../../src/db/schema.ts";
import { loadMasterKeyring } from "../../src/secrets/master_keys.ts";
import { rotateCredentials } from "../../src/secrets/rotate.ts";
import { sessionVolumeKey, shredVolumeKey, volumeKeyFor } from "../../src/secrets/volume_keys.ts";
import { describeEachDriver } from "../helpers/db.ts";

const ring = await loadMasterKeyring({
  masterKeys: parseKeyring("K", `v:${Buffer.alloc(32, 7).toString("base64")}`, "aes256"),
  dataDir: "/x",
});
const newerRing = await loadMasterKeyring({
  masterKeys: parseKeyring(
    "K",
    `w:${Buffer.alloc(32, 8).toString("base64")},v:${Buffer.alloc(32, 7).toString("base64")}`,
    "aes256",
  ),
  dataDir: "/x",
});

describeEachDriver("volume keys", (db) => {
  let alice = { userId: "", sessionId: "" };
  let bob = { userId: "", sessionId: "" };
  beforeAll(async () => {
    const made = await asSystem(db().db, (tx) =>
      tx
        .insert(users)
        .values([
          { email: "va@example.test", passwordHash: "x" },
          { email: "vb@example.test", passwordHash: "x" },
        ])
        .returning(),
    );
    const sessions = await asSystem(db().db, (tx) =>
      tx
        .insert(agentSessions)
        .values(made.map((u) => ({ userId: u.id })))
        .returning(),
    );
    alice = { userId: made[0]?.id ?? "", sessionId: sessions[0]?.id ?? "" };
    bob = { userId: made[1]?.id ?? "", sessionId: sessions[1]?.id ?? "" };
  });

  test("256 random bits per session, stable, stored only sealed", async () => {
    const key = await volumeKeyFor(db().db, ring, alice);
    expect(Buffer.from(key, "base64").byteLength).toBe(32);
    expect(await volumeKeyFor(db().db, ring, alice)).toBe(key);
    expect(await volumeKeyFor(db().db, ring, bob)).not.toBe(key);
    const dump = rowsOf<{ row: string }>(
      await db().db.execute(sql`select row_to_json(t)::text as row from volume_keys t`),
    )
      .map((r) => r.row)
      .join("\n");
    expect(dump).toContain(alice.sessionId);
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(Buffer.from(key, "base64").toString("hex"));
  });

  test("a ciphertext moved to another session does not open", async () => {
    const [row] = await asSystem(db().db, (tx) =>
      tx.select().from(volumeKeys).where(eq(volumeKeys.sessionId, alice.sessionId)),
    );
    await asSystem(db().db, (tx) =>
      tx
        .update(volumeKeys)
        .set({ nonce: row?.nonce, ciphertext: row?.ciphertext })
        .where(eq(volumeKeys.sessionId, bob.sessionId)),
    );
    await expect(volumeKeyFor(db().db, ring, bob)).rejects.toThrow(/could not be decrypted/);
  });

  test("row-level security is forced: a user sees only their own row", async () => {
    const forced = rowsOf<{ relforcerowsecurity: boolean }>(
      await db().db.execute(sql`select relforcerowsecurity from pg_class where relname = 'volume_keys'`),
    );
    expect(forced[0]?.relforcerowsecurity).toBe(true);
    const seen = await asUser(db().db, alice.userId, (tx) => tx.select().from(volumeKeys));
    expect(seen.map((r) => r.sessionId)).toEqual([alice.sessionId]);
  });

  test("keys rotate re-seals volume keys under the newest master key; the key itself stays", async () => {
    const before = await volumeKeyFor(db().db, ring, alice);
    const report = await rotateCredentials(db().db, newerRing);
    // Bob's row holds Alice's ciphertext (the test above): it cannot be opened, so it is reported.
    expect(report).toEqual({ rotated: 1, unknownKeyIds: [], failed: 1 });
    const [row] = await asSystem(db().db, (tx) =>
      tx.select().from(volumeKeys).where(eq(volumeKeys.sessionId, alice.sessionId)),
    );
    expect(row?.keyId).toBe("w");
    expect(await volumeKeyFor(db().db, newerRing, alice)).toBe(before);
    await expect(volumeKeyFor(db().db, ring, alice)).rejects.toThrow(/could not be decrypted/);
  });

  test("shredding deletes the row; the next key is a new one", async () => {
    const before = await volumeKeyFor(db().db, newerRing, alice);
    await asUser(db().db, alice.userId, (tx) => shredVolumeKey(tx, alice.sessionId));
    const left = await asSystem(db().db, (tx) =>
      tx.select().from(volumeKeys).where(eq(volumeKeys.sessionId, alice.sessionId)),
    );
    expect(left).toHaveLength(0);
    expect(await volumeKeyFor(db().db, newerRing, alice)).not.toBe(before);
  });

  test("a key says whether this call made it (a first spawn, or the first after a kill)", async () => {
    const stored = await sessionVolumeKey(db().db, newerRing, alice);
    expect(stored.created).toBe(false);
    await asUser(db().db, alice.userId, (tx) => shredVolumeKey(tx, alice.sessionId));
    const made = await sessionVolumeKey(db().db, newerRing, alice);
    expect(made.created).toBe(true);
    expect(made.key).not.toBe(stored.key);
    expect(await sessionVolumeKey(db().db, newerRing, alice)).toEqual({ key: made.key, created: false });
  });
});
