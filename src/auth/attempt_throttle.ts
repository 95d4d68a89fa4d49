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

export function recordAttempt(db: Db, action: ThrottledAction, subject: string, ip: string, ok: boolean) {
  return recordLogin(db, keyFor(action, subject), ip, ok);
}
