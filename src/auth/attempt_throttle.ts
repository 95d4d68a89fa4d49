// Password resets, reset confirmations and TOTP codes are throttled exactly like sign-ins: the same
// table, the same growing delays, under a key of their own so they never lock the sign-in itself.
import type { Db } from "../db/client.ts";
import { AuthError } from "./auth_error.ts";
import { checkLogin, recordLogin } from "./login_throttle.ts";

export type ThrottledAction = "password_reset" | "password_reset_confirm" | "totp";

const keyFor = (action: ThrottledAction, subject: string) => `${action}:${subject}`;

export async function ensureAttemptAllowed(db: Db, action: ThrottledAction, subject: string, ip: string) {
  const verdict = await checkLogin(db, keyFor(action, subject), ip);
  if (!verdict.allowed) {
    throw new AuthError(
      429,
      "too_many_attempts",
      "Too many attempts. Wait a moment and try again.",
      verdict.retryAfterSeconds,
    );
  }
}

/**
 * Only failures are recorded: a success would make the IP "trusted" for that key (the sign-in rule that
 * spares the owner at home), and a 6-digit code must stay throttled from every address.
 */
export async function recordAttempt(
  db: Db,
  action: ThrottledAction,
  subject: string,
  ip: string,
  ok: boolean,
) {
  if (!ok) await recordLogin(db, keyFor(action, subject), ip, false);
}
