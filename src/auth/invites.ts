// Invite links for CLAWFLEET_SIGNUP=invite. A token is 256 random bits shown once (in the link);
// only its SHA-256 is stored, so a database dump cannot be turned into accounts. Single use: the
// signup that claims it marks it used in the same transaction that creates the user.
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { and, desc, eq, gt, isNull } from "drizzle-orm";
import { sha256Hex } from "../../common/crypto.ts";
import { type Actor, audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { asSystem, isUuid, type Tx } from "../db/rls.ts";
import { invites } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import { normaliseEmail } from "./users.ts";

export const INVITE_PREFIX = "cfi_";
const TOKEN = /^cfi_[A-Za-z0-9_-]{43}$/;
const DEFAULT_DAYS = 7;
const MAX_DAYS = 90;

export type InviteSummary = {
  id: string;
  email: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  revoked_at: string | null;
};

export type MintedInvite = InviteSummary & { token: string };

function summary(row: typeof invites.$inferSelect): InviteSummary {
  return {
    id: row.id,
    email: row.email,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    used_at: row.usedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
  };
}

/** The link a person opens to sign up with this invite. */
export function inviteUrl(base: string, token: string): string {
  return `${base.replace(/\/+$/, "")}/signup?invite=${encodeURIComponent(token)}`;
}

export async function createInvite(
  db: Db,
  input: { email?: string | null; expiresInDays?: number },
  actor: Actor = {},
): Promise<MintedInvite> {
  const days = input.expiresInDays ?? DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new UserError(400, "invalid_expiry", `An invite lasts from 1 to ${MAX_DAYS} days.`);
  }
  let email: string | null = null;
  if (input.email) {
    email = normaliseEmail(input.email);
    if (!email) throw new UserError(400, "invalid_email", "Enter a valid email address.");
  }
  const token = INVITE_PREFIX + encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
  const [row] = await asSystem(db, (tx) =>
    tx
      .insert(invites)
      .values({
        tokenHash: sha256Hex(token),
        email,
        createdBy: actor.userId ?? null,
        expiresAt: new Date(Date.now() + days * 86_400_000),
      })
      .returning(),
  );
  if (!row) throw new Error("insert returned nothing");
  await auditInvite(db, "admin.invite_created", row.id, actor);
  return { ...summary(row), token };
}

export async function listInvites(db: Db): Promise<InviteSummary[]> {
  const rows = await asSystem(db, (tx) =>
    tx.select().from(invites).orderBy(desc(invites.createdAt)).limit(200),
  );
  return rows.map(summary);
}

export async function revokeInvite(db: Db, id: string, actor: Actor = {}): Promise<boolean> {
  if (!isUuid(id)) return false;
  const rows = await asSystem(db, (tx) =>
    tx
      .update(invites)
      .set({ revokedAt: new Date() })
      .where(and(eq(invites.id, id), isNull(invites.usedAt), isNull(invites.revokedAt)))
      .returning({ id: invites.id }),
  );
  if (rows.length) await auditInvite(db, "admin.invite_revoked", id, actor);
  return rows.length > 0;
}

function auditInvite(db: Db, action: string, id: string, actor: Actor) {
  return audit(db, {
    action,
    actorId: actor.userId ?? null,
    target: id,
    ip: actor.ip ?? null,
    detail: actor.via ? { via: actor.via } : undefined,
  });
}

const INVALID = () =>
  new UserError(403, "invalid_invite", "This invite link is not valid any more. Ask for a new one.");

function usable(tokenHash: string, now: Date) {
  return and(
    eq(invites.tokenHash, tokenHash),
    isNull(invites.usedAt),
    isNull(invites.revokedAt),
    gt(invites.expiresAt, now),
  );
}

/** Checks an invite without using it (before the password is hashed). */
export async function checkInvite(db: Db, token: string | undefined, email: string): Promise<void> {
  if (!token || !TOKEN.test(token)) throw INVALID();
  const [row] = await asSystem(db, (tx) =>
    tx
      .select()
      .from(invites)
      .where(usable(sha256Hex(token), new Date())),
  );
  if (!row || (row.email && row.email !== email)) throw INVALID();
}

/** Marks the invite used by `userId`, inside the transaction that creates that user. */
export async function claimInvite(tx: Tx, token: string | undefined, email: string, userId: string) {
  if (!token || !TOKEN.test(token)) throw INVALID();
  const [row] = await tx
    .update(invites)
    .set({ usedAt: new Date(), usedBy: userId })
    .where(usable(sha256Hex(token), new Date()))
    .returning();
  if (!row || (row.email && row.email !== email)) throw INVALID();
}
