// Personal access tokens for scripts. `cfp_` + 256 random bits in base64url: the prefix lets secret
// scanners spot a leaked one, the randomness makes the SHA-256 alone a safe thing to store (no salt or
// slow hash needed for a secret nobody chose). Shown once at creation; after that only name and dates.
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, desc, eq, sql } from "drizzle-orm";
import { sha256Hex } from "../../common/crypto.ts";
import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import { asSystem, asUser, isUuid } from "../db/rls.ts";
import { personalTokens } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import type { Caller } from "./account.ts";
import { notifySignInsEnded } from "./sign_ins_ended.ts";

export const PERSONAL_TOKEN_PREFIX = "cfp_";
const TOKEN = /^cfp_[A-Za-z0-9_-]{43}$/;
const MAX_TOKENS = 50;
// Writing last_used_at on every request would be a write per call; once a minute is precise enough.
const LAST_USED_PRECISION_MS = 60_000;

export type TokenSummary = {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
};

function summary(row: typeof personalTokens.$inferSelect): TokenSummary {
  return {
    id: row.id,
    name: row.name,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt?.toISOString() ?? null,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
  };
}

export async function createPersonalToken(
  ctx: AppContext,
  caller: Caller,
  input: { name: string; expiresInDays?: number | null },
): Promise<{ id: string; token: string; summary: TokenSummary }> {
  const name = input.name.trim();
  if (!name || name.length > 100) {
    throw new UserError(400, "invalid_name", "Give the token a name of 1 to 100 characters.");
  }
  const days = input.expiresInDays ?? null;
  if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) {
    throw new UserError(400, "invalid_expiry", "expires_in_days must be a whole number from 1 to 3650.");
  }
  const token = `${PERSONAL_TOKEN_PREFIX}${encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)))}`;
  const row = await asUser(ctx.database.db, caller.userId, async (tx) => {
    const [{ n = 0 } = {}] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(personalTokens)
      .where(eq(personalTokens.userId, caller.userId));
    if (n >= MAX_TOKENS) {
      throw new UserError(
        409,
        "too_many_tokens",
        `You can have at most ${MAX_TOKENS} tokens. Revoke one first.`,
      );
    }
    const [created] = await tx
      .insert(personalTokens)
      .values({
        userId: caller.userId,
        name,
        tokenHash: sha256Hex(token),
        expiresAt: days === null ? null : new Date(Date.now() + days * 86_400_000),
      })
      .returning();
    if (!created) throw new Error("insert returned nothing");
    return created;
  });
  await audit(ctx.database.db, {
    action: "token.created",
    userId: caller.userId,
    target: row.id,
    detail: { name },
    ip: caller.ip,
  });
  return { id: row.id, token, summary: summary(row) };
}

export async function listPersonalTokens(ctx: AppContext, userId: string): Promise<TokenSummary[]> {
  const rows = await asUser(ctx.database.db, userId, (tx) =>
    tx.select().from(personalTokens).orderBy(desc(personalTokens.createdAt)),
  );
  return rows.map(summary);
}

export async function revokePersonalToken(ctx: AppContext, caller: Caller, id: string): Promise<void> {
  const removed = isUuid(id)
    ? await asUser(ctx.database.db, caller.userId, async (tx) => {
        const deleted = await tx
          .delete(personalTokens)
          .where(and(eq(personalTokens.id, id), eq(personalTokens.userId, caller.userId)))
          .returning({ id: personalTokens.id });
        // Sockets opened with the token close on every replica, as a revoked sign-in's do.
        if (deleted.length)
          await notifySignInsEnded(tx, { userId: caller.userId, signInId: id, except: null });
        return deleted;
      })
    : [];
  if (removed.length === 0) throw new UserError(404, "not_found", "No such token.");
  await audit(ctx.database.db, { action: "token.revoked", userId: caller.userId, target: id, ip: caller.ip });
}

/** The owner of a presented token, or null (unknown, malformed or expired). */
export async function verifyPersonalToken(
  ctx: AppContext,
  presented: string,
): Promise<{ userId: string; tokenId: string } | null> {
  if (!TOKEN.test(presented)) return null;
  const [row] = await asSystem(ctx.database.db, (tx) =>
    tx
      .select()
      .from(personalTokens)
      .where(eq(personalTokens.tokenHash, sha256Hex(presented))),
  );
  if (!row) return null;
  const now = Date.now();
  if (row.expiresAt && row.expiresAt.getTime() <= now) return null;
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_PRECISION_MS) {
    await asSystem(ctx.database.db, (tx) =>
      tx
        .update(personalTokens)
        .set({ lastUsedAt: new Date(now) })
        .where(eq(personalTokens.id, row.id)),
    );
  }
  return { userId: row.userId, tokenId: row.id };
}
