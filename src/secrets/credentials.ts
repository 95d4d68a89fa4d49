// Stored provider keys. Everything goes through asUser (RLS); nothing here can return plaintext or
// ciphertext: listing yields previews, and decryption lives only in spawn_secrets.ts.
import { and, asc, eq } from "drizzle-orm";
import type { Provider } from "../../common/providers.ts";
import { type Actor, audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { asUser, isUuid } from "../db/rls.ts";
import { credentials } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import { seal } from "./aead.ts";
import type { MasterKeyring } from "./master_keys.ts";
import { checkKey, keyPreview } from "./providers.ts";

export type CredentialSummary = { id: string; provider: Provider; key_preview: string; created_at: string };

export class CredentialInputError extends UserError {
  constructor(code: string, message: string) {
    super(400, code, message);
  }
}

function summary(
  row: Pick<typeof credentials.$inferSelect, "id" | "provider" | "keyPreview" | "createdAt">,
): CredentialSummary {
  return {
    id: row.id,
    provider: row.provider,
    key_preview: row.keyPreview,
    created_at: row.createdAt.toISOString(),
  };
}

/** One key per provider: adding another for the same provider replaces the old one in one transaction. */
export async function addCredential(
  db: Db,
  keyring: MasterKeyring,
  userId: string,
  provider: string,
  rawKey: string,
  actor: Actor = {},
): Promise<{ credential: CredentialSummary; replaced: boolean }> {
  const key = rawKey.trim();
  const problem = checkKey(provider, key);
  if (problem) throw new CredentialInputError(problem.code, problem.message);
  const p = provider as Provider;
  const id = crypto.randomUUID();
  const sealed = await seal(keyring.newest, key, { userId, provider: p, rowId: id });
  const result = await asUser(db, userId, async (tx) => {
    const removed = await tx
      .delete(credentials)
      .where(and(eq(credentials.userId, userId), eq(credentials.provider, p)))
      .returning({ id: credentials.id });
    const [row] = await tx
      .insert(credentials)
      .values({
        id,
        userId,
        provider: p,
        keyId: sealed.keyId,
        nonce: sealed.nonce,
        ciphertext: sealed.ciphertext,
        keyPreview: keyPreview(p, key),
      })
      .returning();
    if (!row) throw new Error("credential insert returned nothing");
    return { credential: summary(row), replaced: removed.length > 0 };
  });
  await audit(db, {
    action: result.replaced ? "credential.replaced" : "credential.added",
    userId,
    target: result.credential.id,
    detail: { provider: p, ...(actor.via ? { via: actor.via } : {}) },
    ip: actor.ip ?? null,
  });
  return result;
}

export function listCredentials(db: Db, userId: string): Promise<CredentialSummary[]> {
  return asUser(db, userId, async (tx) =>
    (
      await tx
        .select({
          id: credentials.id,
          provider: credentials.provider,
          keyPreview: credentials.keyPreview,
          createdAt: credentials.createdAt,
        })
        .from(credentials)
        .orderBy(asc(credentials.provider))
    ).map(summary),
  );
}

/** False when there is no such key for this user (someone else's id looks exactly the same). */
export async function deleteCredential(
  db: Db,
  userId: string,
  id: string,
  actor: Actor = {},
): Promise<boolean> {
  if (!isUuid(id)) return false;
  const removed = await asUser(db, userId, (tx) =>
    tx.delete(credentials).where(eq(credentials.id, id)).returning({ id: credentials.id }),
  );
  if (removed.length === 0) return false;
  await audit(db, {
    action: "credential.deleted",
    userId,
    target: id,
    ip: actor.ip ?? null,
    ...(actor.via ? { detail: { via: actor.via } } : {}),
  });
  return true;
}
