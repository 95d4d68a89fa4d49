import { count, sql } from "drizzle-orm";
import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import { asSystem } from "../db/rls.ts";
import { users } from "../db/schema.ts";
import { AuthError, type ClientMeta, passwordWorkGuard } from "./auth_error.ts";
import { verifyAfterSignup } from "./email_verification.ts";
import { checkInvite, claimInvite } from "./invites.ts";
import { checkPassword } from "./password_policy.ts";
import { hashPassword } from "./passwords.ts";
import { createFamily, type IssuedRefresh } from "./refresh_tokens.ts";
import { reserveSignup } from "./signup_throttle.ts";
import { findUserByEmail, normaliseEmail } from "./users.ts";

export type SignedIn = { user: typeof users.$inferSelect; session: IssuedRefresh };

// Signups queue on this lock only to decide "is this the first account?" and to create the user.
const FIRST_ACCOUNT_LOCK = sql`select pg_advisory_xact_lock(${0x534947}, 0)`; // "SIG"

const emailTaken = () =>
  new AuthError(409, "email_taken", "An account with this email already exists. Sign in instead.");

/** A fresh install: the next account is the first, and becomes the administrator. */
export async function noAccountsYet(ctx: AppContext): Promise<boolean> {
  const [row] = await asSystem(ctx.database.db, (tx) => tx.select({ n: count() }).from(users));
  return (row?.n ?? 0) === 0;
}

/**
 * A new account and its first signed-in session. Every refusal that costs nothing (mode, invite,
 * duplicate email, throttle) comes before the argon2 work. The very first account becomes the
 * administrator and is let in whatever CLAWFLEET_SIGNUP says, so a new install can be set up.
 */
export async function signUp(
  ctx: AppContext,
  input: { email: string; password: string; invite?: string },
  meta: ClientMeta,
): Promise<SignedIn> {
  const db = ctx.database.db;
  const email = normaliseEmail(input.email);
  if (!email) throw new AuthError(400, "invalid_email", "Enter a valid email address.");
  const problem = checkPassword(input.password, email);
  if (problem) throw new AuthError(400, problem.code, problem.message);
  const { mode } = ctx.config.signup;
  const bootstrap = mode !== "open" && (await noAccountsYet(ctx));
  if (mode === "closed" && !bootstrap) {
    throw new AuthError(403, "signup_closed", "New accounts are not being accepted here.");
  }
  if (mode === "invite" && !bootstrap) await checkInvite(db, input.invite, email);
  if (await findUserByEmail(db, email)) throw emailTaken();
  await reserveSignup(db, meta.ip, ctx.config.signup);
  const hash = await passwordWorkGuard(() => hashPassword(input.password));

  let user: SignedIn["user"];
  try {
    user = await asSystem(db, async (tx) => {
      await tx.execute(FIRST_ACCOUNT_LOCK);
      const [existing] = await tx.select({ n: count() }).from(users);
      const first = (existing?.n ?? 0) === 0;
      const [row] = await tx.insert(users).values({ email, passwordHash: hash, isAdmin: first }).returning();
      if (!row) throw new Error("insert returned nothing");
      if (mode === "invite" && !first) await claimInvite(tx, input.invite, email, row.id);
      return row;
    });
  } catch (error) {
    // Two signups for one email raced past the duplicate check: the unique index decides.
    const { code, cause } = error as { code?: string; cause?: { code?: string } };
    if ((code ?? cause?.code) === "23505") throw emailTaken();
    throw error;
  }
  const session = await createFamily(db, ctx.auth.keys.refreshKey, ctx.auth.policy, user.id, meta);
  await audit(db, {
    action: "account.signup",
    userId: user.id,
    ip: meta.ip,
    detail: user.isAdmin ? { first_account: true } : undefined,
  });
  verifyAfterSignup(ctx, user);
  return { user, session };
}
