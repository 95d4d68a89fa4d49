// Login rate limiting whose state is the login_attempts table, so it holds across replicas.
// - Per account: after FREE_FAILURES failures in the last hour, each further attempt must wait
//   2^(n - FREE_FAILURES) seconds (capped) after the last failure; at most 100 failures an hour.
// - Per IP: the same growth after more failures, so one address cannot spray many accounts.
// - No permanent lock-out: everything is counted over a sliding hour, and an IP that has signed in to
//   this account successfully within 30 days is exempt from the account's throttle (the attacker's
//   failures slow the attacker, not the owner at home).
// Unknown emails are counted exactly like known ones, so the limiter reveals nothing either.
import { and, count, eq, gt, max, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { loginAttempts } from "../db/schema.ts";

const HOUR = 3600_000;
const FREE_FAILURES = { account: 5, ip: 20 };
const MAX_DELAY_S = { account: 900, ip: 900 };
export const ACCOUNT_FAILURES_PER_HOUR = 100;
const TRUSTED_IP_MS = 30 * 24 * HOUR;

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

function delayFor(failures: number, free: number, cap: number): number {
  return failures < free ? 0 : Math.min(cap, 2 ** (failures - free));
}

export async function checkLogin(
  db: Db,
  email: string,
  ip: string,
  now = Date.now(),
): Promise<ThrottleVerdict> {
  const since = new Date(now - HOUR);
  return asSystem(db, async (tx) => {
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
      failed(loginAttempts.ip, ip),
      tx
        .select({ n: count() })
        .from(loginAttempts)
        .where(
          and(
            eq(loginAttempts.email, email),
            eq(loginAttempts.ip, ip),
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
  });
}

export function recordLogin(db: Db, email: string, ip: string, success: boolean) {
  return asSystem(db, (tx) => tx.insert(loginAttempts).values({ email, ip, success }));
}

/** Old attempts only matter for the trusted-IP rule; anything older than that is deleted. */
export function pruneLoginAttempts(db: Db, now = Date.now()) {
  return asSystem(db, (tx) =>
    tx
      .delete(loginAttempts)
      .where(sql`${loginAttempts.createdAt} < ${new Date(now - TRUSTED_IP_MS).toISOString()}::timestamptz`),
  );
}
