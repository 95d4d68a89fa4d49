// The signed-in user's own account: sign out, list and revoke sessions, change the password, delete
// the account. Each checks what it must (the password where DESIGN.md asks for it) and audits.
import { and, desc, gt, isNull } from "drizzle-orm";
import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import { asUser, isUuid } from "../db/rls.ts";
import { signIns } from "../db/schema.ts";
import { forgetAccountHistory } from "./account_history.ts";
import { AuthError, passwordWorkGuard } from "./auth_error.ts";
import { throttledPasswordCheck } from "./login_throttle.ts";
import { checkPassword } from "./password_policy.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { revokeFamily, revokeOtherFamilies } from "./refresh_tokens.ts";
import { deleteUser, getUser, updatePasswordHash } from "./users.ts";

export type Caller = { userId: string; signInId: string; ip: string };

export type SignInSummary = {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
};

/** Runs before the user row is deleted (the control plane's container kill). */
export type AccountDeletionHook = (userId: string) => Promise<void>;

const signInAgain = () => new AuthError(401, "unauthenticated", "Sign in to continue.");

export async function logOut(ctx: AppContext, caller: Caller): Promise<void> {
  await revokeFamily(ctx.database.db, caller.userId, caller.signInId, "logout");
  await audit(ctx.database.db, {
    action: "auth.logout",
    userId: caller.userId,
    target: caller.signInId,
    ip: caller.ip,
  });
}

/** The user's live sessions (not revoked, not past their absolute or idle limit), newest use first. */
export async function listSignIns(ctx: AppContext, caller: Caller): Promise<SignInSummary[]> {
  const idleCutoff = new Date(Date.now() - ctx.auth.policy.idleMs);
  const rows = await asUser(ctx.database.db, caller.userId, (tx) =>
    tx
      .select()
      .from(signIns)
      .where(
        and(isNull(signIns.revokedAt), gt(signIns.expiresAt, new Date()), gt(signIns.lastUsedAt, idleCutoff)),
      )
      .orderBy(desc(signIns.lastUsedAt)),
  );
  return rows.map((row) => ({
    id: row.id,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    user_agent: row.userAgent,
    ip: row.ip,
    current: row.id === caller.signInId,
  }));
}

export async function revokeSignIn(ctx: AppContext, caller: Caller, id: string): Promise<void> {
  const revoked = isUuid(id) ? await revokeFamily(ctx.database.db, caller.userId, id, "revoked by user") : [];
  if (revoked.length === 0) throw new AuthError(404, "not_found", "No such session.");
  await audit(ctx.database.db, {
    action: "auth.session_revoked",
    userId: caller.userId,
    target: id,
    ip: caller.ip,
  });
}

/** Needs the current password; every other session of the user is signed out. */
export async function changePassword(
  ctx: AppContext,
  caller: Caller,
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  const db = ctx.database.db;
  const user = await getUser(db, caller.userId);
  if (!user) throw signInAgain();
  const ok = await throttledPasswordCheck(db, { email: user.email, ip: caller.ip }, () =>
    passwordWorkGuard(() => verifyPassword(input.currentPassword, user.passwordHash)),
  );
  if (!ok) throw new AuthError(403, "wrong_password", "The current password is incorrect.");
  if (input.newPassword === input.currentPassword) {
    throw new AuthError(
      400,
      "password_unchanged",
      "The new password is the same as the current one. Choose a different one.",
    );
  }
  const problem = checkPassword(input.newPassword, user.email);
  if (problem) throw new AuthError(400, problem.code, problem.message);
  const hash = await passwordWorkGuard(() => hashPassword(input.newPassword));
  await updatePasswordHash(db, caller.userId, hash, true);
  await revokeOtherFamilies(db, caller.userId, caller.signInId, "password changed");
  await audit(db, { action: "auth.password_changed", userId: caller.userId, ip: caller.ip });
}

/**
 * Needs the password. The hooks (the container kill) run first; the user row's deletion then cascades
 * to sessions, credentials and the agent session.
 */
export async function deleteAccount(
  ctx: AppContext,
  caller: Caller,
  password: string,
  beforeDelete: AccountDeletionHook[],
): Promise<void> {
  const db = ctx.database.db;
  const user = await getUser(db, caller.userId);
  if (!user) throw signInAgain();
  const ok = await throttledPasswordCheck(db, { email: user.email, ip: caller.ip }, () =>
    passwordWorkGuard(() => verifyPassword(password, user.passwordHash)),
  );
  if (!ok) throw new AuthError(403, "wrong_password", "The password is incorrect.");
  for (const hook of beforeDelete) await hook(caller.userId);
  await deleteUser(db, caller.userId);
  await audit(db, { action: "account.deleted", userId: caller.userId, ip: caller.ip });
  await forgetAccountHistory(db, caller.userId, user.email);
}
