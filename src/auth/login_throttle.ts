// Login rate limiting whose state is the login_attempts table, so it holds across replicas.
// - Per account: after FREE_FAILURES failures in the last hour, each further attempt must wait
//   2^(n - FREE_FAILURES) seconds (capped) after the last failure; at most 100 failures an hour.
// - Per IP: the same growth after more failures, so one address cannot spray many accounts.
// - No permanent lock-out: everything is counted over a sliding hour, and an IP that has signed in to
//   this account successfully within 30 days is exempt from the account's throttle (the attacker's
//   failures slow the attacker, not the owner at home).
// Unknown emails are counted exactly like known ones, so the limiter reveals nothing either.
// - Addresses are counted by clientKey: IPv4 as itself, IPv6 by its /64.
import { and, count, eq, gt, max, sql } from "drizzle-orm";
import { clientKey } from "../../common/ip.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { loginAttempts } from "../db/schema.ts";
import { AuthError } from "./auth_error.ts";

const HOUR = 3600_000;
const FREE_FAILURES = { account: 5, ip: 20 };
const MAX_DELAY_S = { account: 900, ip: 900 };
export const ACCOUNT_FAILURES_PER_HOUR = 100;
const TRUSTED_IP_MS = 30 * 24 * HOUR;

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

function delayFor(failures: number, free: number, cap: number): number {
  return failures < free ? 0 : Math.min(cap, 2 ** (failures - free));
}

type Verdictable = Parameters<Parameters<typeof asSystem>[1]>[0];

async function verdictIn(
  tx: Verdictable,
  email: string,
  ipKey: string,
  now: number,
): Promise<ThrottleVerdict> {
  const since = new Date(now - HOUR);
  const failed = (column: typeof loginAttempts.email | typeof loginAttempts.ip, value: string) =>
    tx
      .select({
        n: count(),
        last: max(loginAttempts.createdAt),
        first: sql<string>`min(${loginAttempts.createdAt})`,
      })
      .from(loginAttempts)
      .where(and(eq(column, value), eq(loginAttempts.success, false), gt(loginAttempts.createdAt, since)));
  const [[byAccount], [byIp], trusted] = await Promise.all([
    failed(loginAttempts.email, email),
    failed(loginAttempts.ip, ipKey),
    tx
      .select({ n: count() })
      .from(loginAttempts)
      .where(
        and(
          eq(loginAttempts.email, email),
          eq(loginAttempts.ip, ipKey),
          eq(loginAttempts.success, true),
          gt(loginAttempts.createdAt, new Date(now - TRUSTED_IP_MS)),
        ),
      ),
  ]);
  const waits: number[] = [];
  const ipDelay = delayFor(byIp?.n ?? 0, FREE_FAILURES.ip, MAX_DELAY_S.ip);
  if (ipDelay && byIp?.last) waits.push(new Date(byIp.last).getTime() + ipDelay * 1000 - now);
  const trustedIp = (trusted[0]?.n ?? 0) > 0;
  if (!trustedIp && byAccount) {
    if (byAccount.n >= ACCOUNT_FAILURES_PER_HOUR && byAccount.first) {
      waits.push(new Date(byAccount.first).getTime() + HOUR - now);
    }
    const accountDelay = delayFor(byAccount.n, FREE_FAILURES.account, MAX_DELAY_S.account);
    if (accountDelay && byAccount.last)
      waits.push(new Date(byAccount.last).getTime() + accountDelay * 1000 - now);
  }
  const wait = Math.max(0, ...waits);
  return wait > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(wait / 1000) } : { allowed: true };
}

/** The verdict for an attempt now, without reserving it (read-only). */
export function checkLogin(db: Db, email: string, ip: string, now = Date.now()): Promise<ThrottleVerdict> {
  return asSystem(db, (tx) => verdictIn(tx, email, clientKey(ip), now));
}

// Its own key space of advisory locks (the two-int form never meets the leader's one-bigint locks).
const LOCK_CLASS = 0x4c4f47; // "LOG"

/**
 * Checks and, when allowed, records the attempt as a failure in the same transaction, under locks on
 * the account and the address: parallel guesses queue here and each sees the ones before it, instead
 * of all passing one check while their argon2 work runs. A success later turns the row into one.
 */
export function reserveAttempt(
  db: Db,
  email: string,
  ip: string,
  now = Date.now(),
): Promise<ThrottleVerdict & { attemptId?: number }> {
  const ipKey = clientKey(ip);
  return asSystem(db, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${`e:${email}`}))`);
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${`i:${ipKey}`}))`);
    const verdict = await verdictIn(tx, email, ipKey, now);
    if (!verdict.allowed) return verdict;
    const [row] = await tx
      .insert(loginAttempts)
      .values({ email, ip: ipKey, success: false, createdAt: new Date(now) })
      .returning({ id: loginAttempts.id });
    return { allowed: true, attemptId: row?.id };
  });
}

export function markAttemptSucceeded(db: Db, attemptId: number) {
  return asSystem(db, (tx) =>
    tx.update(loginAttempts).set({ success: true }).where(eq(loginAttempts.id, attemptId)),
  );
}

export function recordLogin(db: Db, email: string, ip: string, success: boolean) {
  return asSystem(db, (tx) => tx.insert(loginAttempts).values({ email, ip: clientKey(ip), success }));
}

/**
 * A password check counted by the login throttle: sign-in, and the current-password checks of a
 * password change or account deletion (else a stolen session could guess the password there at the
 * plan's API rate). Throws 429 when the account or address must wait.
 */
export async function throttledPasswordCheck(
  db: Db,
  who: { email: string; ip: string },
  check: () => Promise<boolean>,
): Promise<boolean> {
  const reservation = await reserveAttempt(db, who.email, who.ip);
  if (!reservation.allowed) {
    throw new AuthError(
      429,
      "too_many_attempts",
      "Too many password attempts. Wait a moment and try again.",
      reservation.retryAfterSeconds,
    );
  }
  const ok = await check();
  if (ok && reservation.attemptId !== undefined) await markAttemptSucceeded(db, reservation.attemptId);
  return ok;
}

/** Old attempts only matter for the trusted-IP rule; anything older than that is deleted. */
export function pruneLoginAttempts(db: Db, now = Date.now()) {
  return asSystem(db, (tx) =>
    tx
      .delete(loginAttempts)
      .where(sql`${loginAttempts.createdAt} < ${new Date(now - TRUSTED_IP_MS).toISOString()}::timestamptz`),
  );
}
