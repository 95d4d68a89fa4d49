// Each session's volume key: 256 random bits made here, stored only sealed (aead.ts, AAD bound to the
// user and the session), opened only to send it to the session's node over the signed channel with a
// spawn or a restore. Deleting the row is the crypto-shredding of a kill: the node's copy lives only
// in its kernel and goes with the kill, so nothing can decrypt the image's blocks any more.
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { asSystem, type Tx } from "../db/rls.ts";
import { volumeKeys } from "../db/schema.ts";
import { DecryptionError, open, seal } from "./aead.ts";
import type { MasterKeyring } from "./master_keys.ts";

export type VolumeSession = { userId: string; sessionId: string };

/** The session's key (base64), made and stored the first time it is asked for. */
export async function volumeKeyFor(db: Db, keyring: MasterKeyring, session: VolumeSession): Promise<string> {
  return (await sessionVolumeKey(db, keyring, session)).key;
}

/**
 * The session's key, and whether this call made it: a key made now means no volume of the session
 * can hold anything readable (a kill shredded the previous key), which a spawn tells the node.
 */
export async function sessionVolumeKey(
  db: Db,
  keyring: MasterKeyring,
  session: VolumeSession,
): Promise<{ key: string; created: boolean }> {
  const binding = { userId: session.userId, sessionId: session.sessionId };
  const stored = await readRow(db, session);
  let created = false;
  if (!stored) {
    const fresh = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
    const sealed = await seal(keyring.newest, fresh, binding);
    // Two spawns racing: the first insert wins and both use what is stored.
    const inserted = await asSystem(db, (tx) =>
      tx
        .insert(volumeKeys)
        .values({ ...binding, keyId: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext })
        .onConflictDoNothing({ target: volumeKeys.sessionId })
        .returning({ sessionId: volumeKeys.sessionId }),
    );
    created = inserted.length > 0;
  }
  const row = stored ?? (await readRow(db, session));
  if (!row) throw new DecryptionError();
  const master = keyring.byId(row.keyId);
  if (!master) throw new DecryptionError();
  const key = await open(
    master,
    {
      keyId: row.keyId,
      nonce: row.nonce as Uint8Array<ArrayBuffer>,
      ciphertext: row.ciphertext as Uint8Array<ArrayBuffer>,
    },
    binding,
  );
  return { key, created };
}

async function readRow(db: Db, session: VolumeSession) {
  const [row] = await asSystem(db, (tx) =>
    tx
      .select()
      .from(volumeKeys)
      .where(and(eq(volumeKeys.sessionId, session.sessionId), eq(volumeKeys.userId, session.userId))),
  );
  return row ?? null;
}

/** Crypto-shredding: the stored key goes, inside the caller's transaction when it has one. */
export async function shredVolumeKey(dbOrTx: Db | Tx, sessionId: string): Promise<void> {
  await dbOrTx.delete(volumeKeys).where(eq(volumeKeys.sessionId, sessionId));
}
