// Each user's webhook address: a public slug and a secret. The secret is 256 random bits shown once
// (on creation or rotation) and kept only as its SHA-256: a database reader cannot call the hook,
// and a high-entropy secret needs no slow hash. Lookups compare the hash in constant time.
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { eq } from "drizzle-orm";
import { constantTimeEqual, sha256Hex } from "../../common/crypto.ts";
import { audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { asSystem, asUser } from "../db/rls.ts";
import { sessionHooks } from "../db/schema.ts";

const SLUG_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
export const SLUG = /^[a-z0-9]{12}$/;
export const HOOK_SECRET = /^[A-Za-z0-9_-]{43}$/;

/** 12 characters of [a-z0-9]: a DNS label too, so the same slug can name the session's apps host. */
function newSlug(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  // 256 is not a multiple of 36; the slight bias does not matter for a public identifier.
  return Array.from(bytes, (b) => SLUG_ALPHABET[b % SLUG_ALPHABET.length]).join("");
}

function newSecret(): string {
  return encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
}

export type HookAddress = { slug: string; rotatedAt: Date };

export async function getHookAddress(db: Db, userId: string): Promise<HookAddress | null> {
  const [row] = await asUser(db, userId, (tx) =>
    tx
      .select({ slug: sessionHooks.slug, rotatedAt: sessionHooks.rotatedAt })
      .from(sessionHooks)
      .where(eq(sessionHooks.userId, userId)),
  );
  return row ?? null;
}

/** A new secret (the slug is kept once it exists, so apps hosts do not move); the old one stops working. */
export async function rotateHookSecret(
  db: Db,
  userId: string,
  ip: string | null,
): Promise<{ slug: string; secret: string }> {
  const secret = newSecret();
  const secretHash = sha256Hex(secret);
  const slug = await asUser(db, userId, async (tx) => {
    const [existing] = await tx
      .select({ slug: sessionHooks.slug })
      .from(sessionHooks)
      .where(eq(sessionHooks.userId, userId));
    if (existing) {
      await tx
        .update(sessionHooks)
        .set({ secretHash, rotatedAt: new Date() })
        .where(eq(sessionHooks.userId, userId));
      return existing.slug;
    }
    const fresh = newSlug();
    await tx.insert(sessionHooks).values({ userId, slug: fresh, secretHash });
    return fresh;
  });
  await audit(db, { action: "session.hook_rotate", userId, target: slug, ip });
  return { slug, secret };
}

/** The user a webhook is for, or null when the slug is unknown or the secret wrong (told apart by nobody). */
export async function userForHook(db: Db, slug: string, secret: string): Promise<string | null> {
  if (!SLUG.test(slug) || !HOOK_SECRET.test(secret)) return null;
  const [row] = await asSystem(db, (tx) =>
    tx
      .select({ userId: sessionHooks.userId, secretHash: sessionHooks.secretHash })
      .from(sessionHooks)
      .where(eq(sessionHooks.slug, slug)),
  );
  const presented = sha256Hex(secret);
  // Compared even when the slug is unknown, so the answer takes as long either way.
  const matches = constantTimeEqual(presented, row?.secretHash ?? "0".repeat(64));
  return row && matches ? row.userId : null;
}

/** The user's slug, made on first use (with a secret nobody knows until the user rotates it). */
export async function ensureSlug(db: Db, userId: string): Promise<string> {
  const existing = await getHookAddress(db, userId);
  if (existing) return existing.slug;
  const slug = newSlug();
  const unknowable = sha256Hex(newSecret());
  await asUser(db, userId, (tx) =>
    tx.insert(sessionHooks).values({ userId, slug, secretHash: unknowable }).onConflictDoNothing(),
  );
  return (await getHookAddress(db, userId))?.slug ?? slug;
}

/** Whose session a slug names (it is public: this is no credential check). */
export async function userForSlug(db: Db, slug: string): Promise<string | null> {
  if (!SLUG.test(slug)) return null;
  const [row] = await asSystem(db, (tx) =>
    tx.select({ userId: sessionHooks.userId }).from(sessionHooks).where(eq(sessionHooks.slug, slug)),
  );
  return row?.userId ?? null;
}
