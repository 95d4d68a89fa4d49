// Forgotten passwords. A request always gets the same answer after the same work (the lookup and the
// throttle); the token and the mail happen afterwards, off the request's path, so neither the status
// nor the timing tells whether the address has an account. Confirming needs the live token and a new
// password that passes the policy; it uses the token up and signs out every device.
import { and, eq, isNull, sql } from "drizzle-orm";
import { audit } from "../audit.ts";
import type { ServerConfig } from "../config.ts";
import type { AppContext } from "../context.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { signIns, users } from "../db/schema.ts";
import { publicLink } from "../mail/links.ts";
import { passwordResetMail } from "../mail/templates.ts";
import { consumeAccountToken, issueAccountToken, peekAccountToken } from "./account_tokens.ts";
import { ensureAttemptAllowed, recordAttempt } from "./attempt_throttle.ts";
import { AuthError, type ClientMeta, passwordWorkGuard } from "./auth_error.ts";
import { checkPassword } from "./password_policy.ts";
import { hashPassword } from "./passwords.ts";
import { notifySignInsEnded } from "./sign_ins_ended.ts";
import { findUserByEmail, normaliseEmail } from "./users.ts";

export const PASSWORD_RESET_TTL_MS = 30 * 60_000;

const INVALID_LINK = () =>
  new AuthError(400, "invalid_token", "This reset link is invalid, used or expired. Ask for a new one.");

/** A link for an admin to hand over when there is no SMTP server (`clawfleet users reset-link`). */
export async function resetLinkFor(
  db: Db,
  config: ServerConfig,
  user: { id: string; email: string },
): Promise<string> {
  const token = await issueAccountToken(db, "password_reset", user.id, user.email, PASSWORD_RESET_TTL_MS);
  return publicLink(config, "/reset-password", { token });
}

export async function requestPasswordReset(ctx: AppContext, rawEmail: string, meta: ClientMeta) {
  const db = ctx.database.db;
  const email = normaliseEmail(rawEmail) ?? rawEmail.trim().toLowerCase().slice(0, 320);
  await ensureAttemptAllowed(db, "password_reset", email, meta.ip);
  await recordAttempt(db, "password_reset", email, meta.ip, false);
  const user = await findUserByEmail(db, email);
  if (!user || !ctx.mailer) return;
  const mailer = ctx.mailer;
  void (async () => {
    const link = await resetLinkFor(db, ctx.config, user);
    await mailer.send({ to: user.email, ...passwordResetMail(link) });
    await audit(db, { action: "auth.password_reset_requested", userId: user.id, ip: meta.ip });
  })().catch((error) => ctx.log.error("password reset mail failed", { error }));
}

export async function confirmPasswordReset(
  ctx: AppContext,
  input: { token: string; newPassword: string },
  meta: ClientMeta,
): Promise<void> {
  const db = ctx.database.db;
  // Keyed by address, not globally: strangers' bad tokens must not hold up someone's real reset.
  await ensureAttemptAllowed(db, "password_reset_confirm", meta.ip, meta.ip);
  const pending = await peekAccountToken(db, "password_reset", input.token);
  if (!pending) {
    await recordAttempt(db, "password_reset_confirm", meta.ip, meta.ip, false);
    throw INVALID_LINK();
  }
  const problem = checkPassword(input.newPassword, pending.email);
  if (problem) throw new AuthError(400, problem.code, problem.message);
  const hash = await passwordWorkGuard(() => hashPassword(input.newPassword));
  const userId = await asSystem(db, async (tx) => {
    const used = await consumeAccountToken(tx, "password_reset", input.token);
    if (!used) return null;
    const now = new Date();
    // The mail reached its owner, so the address is verified as well.
    await tx
      .update(users)
      .set({
        passwordHash: hash,
        passwordChangedAt: now,
        emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`,
      })
      .where(eq(users.id, used.userId));
    await tx
      .update(signIns)
      .set({ revokedAt: now, revokedReason: "password reset" })
      .where(and(eq(signIns.userId, used.userId), isNull(signIns.revokedAt)));
    // Their open WebSockets close on every replica, as for any other revocation.
    await notifySignInsEnded(tx, { userId: used.userId, signInId: null, except: null });
    return used.userId;
  });
  if (!userId) throw INVALID_LINK();
  await audit(db, { action: "auth.password_reset", userId, ip: meta.ip });
}
