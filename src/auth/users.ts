import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { asSystem, asUser } from "../db/rls.ts";
import { plans, users } from "../db/schema.ts";
import { notifySignInsEnded } from "./sign_ins_ended.ts";

export type PublicUser = { id: string; email: string; is_admin: boolean; plan: string; created_at: string };

const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;

/** Trimmed, NFC, lower-cased; null when it is not an address we accept. */
export function normaliseEmail(raw: string): string | null {
  const email = raw.trim().normalize("NFC").toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) return null;
  return email;
}

export function toPublicUser(row: typeof users.$inferSelect): PublicUser {
  return {
    id: row.id,
    email: row.email,
    is_admin: row.isAdmin,
    plan: row.planId,
    created_at: row.createdAt.toISOString(),
  };
}

export class EmailTakenError extends Error {}

export async function createUser(db: Db, email: string, passwordHash: string, isAdmin = false) {
  try {
    const [row] = await asSystem(db, (tx) =>
      tx.insert(users).values({ email, passwordHash, isAdmin }).returning(),
    );
    if (!row) throw new Error("insert returned nothing");
    return row;
  } catch (error) {
    const code =
      (error as { code?: string; cause?: { code?: string } }).code ??
      (error as { cause?: { code?: string } }).cause?.code;
    if (code === "23505") throw new EmailTakenError();
    throw error;
  }
}

/** Login is the one request that must find a user before knowing who it is. */
export async function findUserByEmail(db: Db, email: string) {
  const [row] = await asSystem(db, (tx) => tx.select().from(users).where(eq(users.email, email)));
  return row ?? null;
}

export async function getUser(db: Db, userId: string) {
  const [row] = await asUser(db, userId, (tx) => tx.select().from(users).where(eq(users.id, userId)));
  return row ?? null;
}

export async function getUserWithPlan(db: Db, userId: string) {
  const [row] = await asUser(db, userId, (tx) =>
    tx.select().from(users).innerJoin(plans, eq(plans.id, users.planId)).where(eq(users.id, userId)),
  );
  return row ?? null;
}

export function updatePasswordHash(db: Db, userId: string, passwordHash: string, changed: boolean) {
  return asUser(db, userId, (tx) =>
    tx
      .update(users)
      .set(changed ? { passwordHash, passwordChangedAt: new Date() } : { passwordHash })
      .where(eq(users.id, userId)),
  );
}

export function deleteUser(db: Db, userId: string) {
  return asUser(db, userId, async (tx) => {
    const deleted = await tx.delete(users).where(eq(users.id, userId)).returning({ id: users.id });
    // The cascade ends every sign-in: their sockets on every replica close too.
    if (deleted.length) await notifySignInsEnded(tx, { userId, signInId: null, except: null });
    return deleted;
  });
}
