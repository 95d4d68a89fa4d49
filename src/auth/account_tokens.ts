// Single-use tokens sent by mail (password reset, email verification). 256 random bits, so a guess is
// hopeless; only the SHA-256 is stored, so a database leak does not hand out working links. Using one
// is an atomic update (`used_at is null` in the WHERE), so two clicks cannot both succeed.
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { sha256Hex } from "../../common/crypto.ts";
import type { Db } from "../db/client.ts";
import { asSystem, type Tx } from "../db/rls.ts";
import { type AccountTokenPurpose, accountTokens } from "../db/schema.ts";

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export async function issueAccountToken(
  db: Db,
  purpose: AccountTokenPurpose,
  userId: string,
  email: string,
  ttlMs: number,
): Promise<string> {
  const token = encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
  await asSystem(db, async (tx) => {
    // A new link replaces the earlier ones of the same kind.
    await tx
      .update(accountTokens)
      .set({ usedAt: new Date() })
      .where(
        and(
          eq(accountTokens.userId, userId),
          eq(accountTokens.purpose, purpose),
          isNull(accountTokens.usedAt),
        ),
      );
    await tx.insert(accountTokens).values({
      userId,
      purpose,
      email,
      tokenHash: sha256Hex(token),
      expiresAt: new Date(Date.now() + ttlMs),
    });
  });
  return token;
}

/** The live token's row, without using it up (to check the rest of a request first). */
export async function peekAccountToken(db: Db, purpose: AccountTokenPurpose, token: string) {
  if (!TOKEN.test(token)) return null;
  const [row] = await asSystem(db, (tx) =>
    tx
      .select()
      .from(accountTokens)
      .where(
        and(
          eq(accountTokens.tokenHash, sha256Hex(token)),
          eq(accountTokens.purpose, purpose),
          isNull(accountTokens.usedAt),
          gt(accountTokens.expiresAt, new Date()),
        ),
      ),
  );
  return row ?? null;
}

/** Uses the token up inside `tx`; null when it was already used, expired or never existed. */
export async function consumeAccountToken(tx: Tx, purpose: AccountTokenPurpose, token: string) {
  if (!TOKEN.test(token)) return null;
  const [row] = await tx
    .update(accountTokens)
    .set({ usedAt: new Date() })
    .where(
      and(
        eq(accountTokens.tokenHash, sha256Hex(token)),
        eq(accountTokens.purpose, purpose),
        isNull(accountTokens.usedAt),
        sql`${accountTokens.expiresAt} > now()`,
      ),
    )
    .returning();
  return row ?? null;
}
