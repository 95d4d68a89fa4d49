// Refresh-token families. A token is `<family id>.<generation>.<mac>` where mac = HMAC(refreshKey,
// id|generation|salt) and salt is 256 random bits per family: unguessable without the server key, and
// only its hash is stored. Because any genuine token can be recognised by its MAC:
// - presenting the current generation rotates the family to the next one;
// - presenting the previous generation within GRACE of its rotation returns the current token again
//   (two tabs refreshing at once both end up with the same token, nobody is logged out);
// - presenting any older genuine token is reuse: the whole family is revoked;
// - a forged token is just rejected (it cannot be used to revoke someone else's family).
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, eq, isNull, sql } from "drizzle-orm";
import { constantTimeEqual, hmacSha256, sha256Hex } from "../../common/crypto.ts";
import { type Db, rowsOf } from "../db/client.ts";
import { asSystem, asUser, isUuid } from "../db/rls.ts";
import { signIns } from "../db/schema.ts";
import { notifySignInsEnded } from "./sign_ins_ended.ts";

export type SignInPolicy = { absoluteMs: number; idleMs: number; graceMs: number };

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = {
  absoluteMs: 30 * 24 * 3600_000,
  idleMs: 7 * 24 * 3600_000,
  graceMs: 10_000,
};

export type IssuedRefresh = { signInId: string; userId: string; refreshToken: string };

export type RefreshOutcome =
  | ({ ok: true } & IssuedRefresh)
  | { ok: false; reason: "malformed" | "unknown" | "forged" | "revoked" | "expired" | "reused" };

async function tokenFor(key: CryptoKey, id: string, generation: number, salt: string): Promise<string> {
  const mac = await hmacSha256(key, `${id}|${generation}|${salt}`);
  return `${id}.${generation}.${encodeBase64urlNoPadding(mac)}`;
}

const TOKEN =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{1,9})\.([A-Za-z0-9_-]{43})$/;

export async function createFamily(
  db: Db,
  key: CryptoKey,
  policy: SignInPolicy,
  userId: string,
  meta: { userAgent: string | null; ip: string | null },
): Promise<IssuedRefresh> {
  const id = crypto.randomUUID();
  const salt = encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
  const refreshToken = await tokenFor(key, id, 0, salt);
  await asUser(db, userId, (tx) =>
    tx.insert(signIns).values({
      id,
      userId,
      salt,
      generation: 0,
      tokenHash: sha256Hex(refreshToken),
      expiresAt: new Date(Date.now() + policy.absoluteMs),
      userAgent: meta.userAgent?.slice(0, 300) ?? null,
      ip: meta.ip,
    }),
  );
  return { signInId: id, userId, refreshToken };
}

export async function rotate(
  db: Db,
  key: CryptoKey,
  policy: SignInPolicy,
  presented: string,
): Promise<RefreshOutcome> {
  const match = TOKEN.exec(presented);
  if (!match) return { ok: false, reason: "malformed" };
  const [, id = "", genText = ""] = match;
  const generation = Number(genText);

  return asSystem(db, async (tx) => {
    const [family] = await tx.select().from(signIns).where(eq(signIns.id, id)).for("update");
    if (!family) return { ok: false, reason: "unknown" } as const;
    if (!constantTimeEqual(presented, await tokenFor(key, id, generation, family.salt))) {
      return { ok: false, reason: "forged" } as const;
    }
    const now = Date.now();
    if (family.revokedAt) return { ok: false, reason: "revoked" } as const;
    if (family.expiresAt.getTime() <= now || family.lastUsedAt.getTime() + policy.idleMs <= now) {
      return { ok: false, reason: "expired" } as const;
    }
    if (generation === family.generation) {
      const next = await tokenFor(key, id, generation + 1, family.salt);
      await tx
        .update(signIns)
        .set({
          generation: generation + 1,
          tokenHash: sha256Hex(next),
          rotatedAt: new Date(now),
          lastUsedAt: new Date(now),
        })
        .where(eq(signIns.id, id));
      return { ok: true, signInId: id, userId: family.userId, refreshToken: next } as const;
    }
    const withinGrace =
      generation === family.generation - 1 &&
      family.rotatedAt &&
      now - family.rotatedAt.getTime() <= policy.graceMs;
    if (withinGrace) {
      const current = await tokenFor(key, id, family.generation, family.salt);
      return { ok: true, signInId: id, userId: family.userId, refreshToken: current } as const;
    }
    await tx
      .update(signIns)
      .set({ revokedAt: new Date(now), revokedReason: "refresh token reused" })
      .where(eq(signIns.id, id));
    await notifySignInsEnded(tx, { userId: family.userId, signInId: id, except: null });
    return { ok: false, reason: "reused" } as const;
  });
}

/**
 * True while the family behind an access token is neither revoked nor expired. Read on every request
 * (a revocation committed on any replica counts at once) in one autocommit statement,
 * clawfleet_sign_in_state (migrations/0009_perf.sql), instead of a transaction of four: this check was a
 * third of an authenticated request's statements (docs/BENCHMARKS.md).
 */
export async function isFamilyActive(db: Db, userId: string, signInId: string, policy: SignInPolicy) {
  if (!isUuid(userId) || !isUuid(signInId)) return false;
  const [row] = rowsOf<{ revoked_at: unknown; expires_at: unknown; last_used_at: unknown }>(
    await db.execute(
      sql`select revoked_at, expires_at, last_used_at from clawfleet_sign_in_state(${signInId}::uuid, ${userId}::uuid)`,
    ),
  );
  if (!row || row.revoked_at !== null) return false;
  const now = Date.now();
  const expiresAt = new Date(row.expires_at as string | Date).getTime();
  const lastUsedAt = new Date(row.last_used_at as string | Date).getTime();
  return expiresAt > now && lastUsedAt + policy.idleMs > now;
}

// Both revocations also tell every replica to close the sockets opened under the ended sign-ins.
export function revokeFamily(db: Db, userId: string, signInId: string, reason: string) {
  return asUser(db, userId, async (tx) => {
    const revoked = await tx
      .update(signIns)
      .set({ revokedAt: new Date(), revokedReason: reason })
      .where(and(eq(signIns.id, signInId), eq(signIns.userId, userId), isNull(signIns.revokedAt)))
      .returning({ id: signIns.id });
    if (revoked.length) await notifySignInsEnded(tx, { userId, signInId: signInId, except: null });
    return revoked;
  });
}

export function revokeOtherFamilies(db: Db, userId: string, keepSignInId: string | null, reason: string) {
  return asUser(db, userId, async (tx) => {
    await tx
      .update(signIns)
      .set({ revokedAt: new Date(), revokedReason: reason })
      .where(
        and(
          eq(signIns.userId, userId),
          isNull(signIns.revokedAt),
          keepSignInId ? sql`${signIns.id} <> ${keepSignInId}` : sql`true`,
        ),
      );
    await notifySignInsEnded(tx, { userId, signInId: null, except: keepSignInId });
  });
}
