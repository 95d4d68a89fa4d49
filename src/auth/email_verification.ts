// Verified addresses. With SMTP set, signing up sends a link (24 hours, single use); the signed-in user
// may ask for a new one. CLAWFLEET_REQUIRE_VERIFIED_EMAIL=true makes a verified address a condition of
// the first spawn. Without SMTP nothing can be verified, so nothing is required.
import { eq, sql } from "drizzle-orm";
import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import { asSystem } from "../db/rls.ts";
import { users } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import { publicLink } from "../mail/links.ts";
import { verifyEmailMail } from "../mail/templates.ts";
import { consumeAccountToken, issueAccountToken } from "./account_tokens.ts";
import { getUser } from "./users.ts";

export const VERIFY_EMAIL_TTL_MS = 24 * 3600_000;

export async function sendVerificationMail(ctx: AppContext, user: { id: string; email: string }) {
  if (!ctx.mailer) throw new UserError(409, "mail_disabled", "This server cannot send mail.");
  const token = await issueAccountToken(
    ctx.database.db,
    "verify_email",
    user.id,
    user.email,
    VERIFY_EMAIL_TTL_MS,
  );
  await ctx.mailer.send({
    to: user.email,
    ...verifyEmailMail(publicLink(ctx.config, "/verify-email", { token })),
  });
}

/** After signup: mail the link without holding up the response; a failure is logged, resend exists. */
export function verifyAfterSignup(ctx: AppContext, user: { id: string; email: string }) {
  if (!ctx.mailer) return;
  sendVerificationMail(ctx, user).catch((error) => ctx.log.error("verification mail failed", { error }));
}

export async function resendVerification(ctx: AppContext, userId: string): Promise<void> {
  const user = await getUser(ctx.database.db, userId);
  if (!user) throw new UserError(401, "unauthenticated", "Sign in to continue.");
  if (user.emailVerifiedAt) throw new UserError(409, "already_verified", "Your address is already verified.");
  await sendVerificationMail(ctx, user);
}

export async function confirmEmail(ctx: AppContext, token: string, ip: string): Promise<void> {
  const db = ctx.database.db;
  const userId = await asSystem(db, async (tx) => {
    const used = await consumeAccountToken(tx, "verify_email", token);
    if (!used) return null;
    // Only the address the link was sent to: a link for an old address verifies nothing.
    const updated = await tx
      .update(users)
      .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` })
      .where(sql`${users.id} = ${used.userId} and ${users.email} = ${used.email}`)
      .returning({ id: users.id });
    return updated[0]?.id ?? null;
  });
  if (!userId) {
    throw new UserError(400, "invalid_token", "This link is invalid, used or expired. Ask for a new one.");
  }
  await audit(db, { action: "account.email_verified", userId, ip });
}

/** Refuses a spawn when the operator requires a verified address and this one is not. */
export async function ensureMaySpawn(ctx: AppContext, userId: string): Promise<void> {
  if (!ctx.config.accounts.requireVerifiedEmail || !ctx.mailer) return;
  const [row] = await asSystem(ctx.database.db, (tx) =>
    tx.select({ verified: users.emailVerifiedAt }).from(users).where(eq(users.id, userId)),
  );
  if (!row?.verified) {
    throw new UserError(
      403,
      "email_unverified",
      "Confirm your email address first: open the link we mailed you (or ask for a new one).",
    );
  }
}
