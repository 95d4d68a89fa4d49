import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import { AuthError, type ClientMeta, passwordWorkGuard } from "./auth_error.ts";
import { throttledPasswordCheck } from "./login_throttle.ts";
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from "./passwords.ts";
import { createFamily } from "./refresh_tokens.ts";
import type { SignedIn } from "./signup.ts";
import { verifySecondFactor } from "./totp.ts";
import { findUserByEmail, normaliseEmail, updatePasswordHash } from "./users.ts";

// One answer for an unknown email and a wrong password, after the same argon2 work.
const INVALID = () => new AuthError(401, "invalid_credentials", "The email or password is incorrect.");

/** Checks the throttle, then the password (same work for unknown emails), then opens a session. */
export async function logIn(
  ctx: AppContext,
  input: { email: string; password: string; totpCode?: string },
  meta: ClientMeta,
): Promise<SignedIn> {
  const db = ctx.database.db;
  const email = normaliseEmail(input.email) ?? input.email.trim().toLowerCase().slice(0, 320);
  const user = await findUserByEmail(db, email);
  const ok = await throttledPasswordCheck(db, { email, ip: meta.ip }, async () =>
    passwordWorkGuard(async () =>
      verifyPassword(input.password, user?.passwordHash ?? (await dummyPasswordHash())),
    ).then((matches) => Boolean(user && matches)),
  );
  if (!user || !ok) throw INVALID();
  // Only after the password: an unknown email and a wrong password still look the same.
  await verifySecondFactor(ctx, user.id, input.totpCode, meta.ip);
  if (needsRehash(user.passwordHash)) {
    await updatePasswordHash(db, user.id, await hashPassword(input.password), false);
  }
  const session = await createFamily(db, ctx.auth.keys.refreshKey, ctx.auth.policy, user.id, meta);
  await audit(db, { action: "auth.login", userId: user.id, target: session.signInId, ip: meta.ip });
  return { user, session };
}
