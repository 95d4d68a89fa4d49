import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import { AuthError, type ClientMeta, passwordWorkGuard } from "./auth_error.ts";
import { verifyAfterSignup } from "./email_verification.ts";
import { checkPassword } from "./password_policy.ts";
import { hashPassword } from "./passwords.ts";
import { createFamily, type IssuedRefresh } from "./refresh_tokens.ts";
import { createUser, EmailTakenError, normaliseEmail } from "./users.ts";

export type SignedIn = { user: Awaited<ReturnType<typeof createUser>>; session: IssuedRefresh };

/** A new account and its first signed-in session. */
export async function signUp(
  ctx: AppContext,
  input: { email: string; password: string },
  meta: ClientMeta,
): Promise<SignedIn> {
  const email = normaliseEmail(input.email);
  if (!email) throw new AuthError(400, "invalid_email", "Enter a valid email address.");
  const problem = checkPassword(input.password, email);
  if (problem) throw new AuthError(400, problem.code, problem.message);
  const hash = await passwordWorkGuard(() => hashPassword(input.password));
  let user: SignedIn["user"];
  try {
    user = await createUser(ctx.database.db, email, hash);
  } catch (error) {
    if (error instanceof EmailTakenError) {
      throw new AuthError(409, "email_taken", "An account with this email already exists. Sign in instead.");
    }
    throw error;
  }
  const session = await createFamily(
    ctx.database.db,
    ctx.auth.keys.refreshKey,
    ctx.auth.policy,
    user.id,
    meta,
  );
  await audit(ctx.database.db, { action: "account.signup", userId: user.id, ip: meta.ip });
  verifyAfterSignup(ctx, user);
  return { user, session };
}
