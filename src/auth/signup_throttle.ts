// Signups are throttled per address (IPv6 by /64) and across the whole platform, counted before any
// password is hashed: without it ~70 concurrent signups filled the argon2 queue (every login got a
// 503) and a script could create accounts until the fleet's capacity was gone. The counters are
// hour-long windows in rate_counters, so every replica shares them; the upsert is atomic, so
// parallel requests cannot all pass one check.
import { sql } from "drizzle-orm";
import { clientKey } from "../../common/ip.ts";
import { type Db, rowsOf } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { AuthError } from "./auth_error.ts";

export const SIGNUP_WINDOW_MS = 3600_000;
export const SIGNUP_BUCKET_PREFIX = "signup:";

export type SignupLimits = { perAddressPerHour: number; globalPerHour: number };

export async function reserveSignup(db: Db, ip: string, limits: SignupLimits, now = Date.now()) {
  const windowStart = new Date(Math.floor(now / SIGNUP_WINDOW_MS) * SIGNUP_WINDOW_MS).toISOString();
  const bump = (bucket: string) =>
    asSystem(db, (tx) =>
      tx.execute(sql`insert into rate_counters (bucket, window_start, count)
        values (${SIGNUP_BUCKET_PREFIX + bucket}, ${windowStart}::timestamptz, 1)
        on conflict (bucket, window_start) do update set count = rate_counters.count + 1 returning count`),
    ).then((result) => rowsOf<{ count: number }>(result)[0]?.count ?? 0);
  const retryAfter = Math.max(1, Math.ceil((Date.parse(windowStart) + SIGNUP_WINDOW_MS - now) / 1000));
  if ((await bump(`ip:${clientKey(ip)}`)) > limits.perAddressPerHour) {
    throw new AuthError(
      429,
      "too_many_signups",
      "Too many new accounts from your network. Try again later.",
      retryAfter,
    );
  }
  if ((await bump("all")) > limits.globalPerHour) {
    throw new AuthError(429, "signups_busy", "Too many new accounts right now. Try again later.", retryAfter);
  }
}
