// Per-plan API rate limits (requests a minute), counted in PostgreSQL so every replica shares them, in
// a fixed one-minute window. Counting is one autocommit statement, clawfleet_api_request
// (migrations/0012_apiperf.sql), which also checks an access token's sign-in and, for GET
// /api/v1/session, reads the session under RLS: an authenticated request is one round trip
// (docs/BENCHMARKS.md). The plan's limit is read in the same statement, so a plan change applies at
// once on every replica. On the embedded database the same reads and the count come from memory
// (src/http/embedded_auth_cache.ts): one process, and every write drops what it changed at once.
import { sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { asSystem, isUuid } from "../db/rls.ts";
import { type SessionView, sessionViewFromJson } from "../sessions/sessions_repo.ts";
import { ApiError } from "./errors.ts";

const WINDOW_MS = 60_000;

/** The IETF RateLimit headers of one window. */
export type RateHeaders = {
  "ratelimit-limit": string;
  "ratelimit-remaining": string;
  "ratelimit-reset": string;
};

export type ApiCall = {
  userId: string;
  /** An access token's sign-in still to be checked; null when the caller was checked already. */
  signInToCheck: string | null;
  /** Also read what GET /api/v1/session shows, in the same statement. */
  readSession: boolean;
};

export type CountedCall = { rate: RateHeaders; view: SessionView | null };

const API_REQUEST =
  "select * from clawfleet_api_request($1::uuid, $2::uuid, $3::timestamptz, $4::bigint, $5, $6::timestamptz, $7::boolean)";

type Row = {
  signed_in: boolean | null;
  count: number | null;
  rate_limit: number | null;
  plan: unknown;
  session: unknown;
  node_name: string | null;
};

/**
 * Counts one API request against the user's plan; null when `signInToCheck` is no longer active (the
 * request is then not counted). Over the limit: 429 with Retry-After.
 */
export async function countApiCall(
  ctx: AppContext,
  call: ApiCall,
  now = Date.now(),
): Promise<CountedCall | null> {
  if (!isUuid(call.userId) || (call.signInToCheck !== null && !isUuid(call.signInToCheck))) return null;
  const windowStart = new Date(Math.floor(now / WINDOW_MS) * WINDOW_MS);
  if (ctx.apiCache) {
    const cached = await ctx.apiCache.read(
      call.userId,
      call.signInToCheck,
      call.readSession,
      ctx.auth.policy.idleMs,
      now,
    );
    if (!cached.signedIn) return null;
    const count = ctx.apiCache.count(call.userId, windowStart.getTime());
    return { rate: rateHeaders(cached.limit, count, windowStart, now), view: cached.view };
  }
  const [row] = await ctx.database.query<Row>(API_REQUEST, [
    call.userId,
    call.signInToCheck,
    new Date(now).toISOString(),
    ctx.auth.policy.idleMs,
    `api:${call.userId}`,
    windowStart.toISOString(),
    call.readSession,
  ]);
  if (!row?.signed_in) return null;
  const rate = rateHeaders(row.rate_limit ?? 0, row.count ?? 0, windowStart, now);
  return { rate, view: call.readSession ? sessionViewFromJson(row.plan, row.session, row.node_name) : null };
}

/** The window's headers; over the limit, the 429 with Retry-After. */
function rateHeaders(limit: number, count: number, windowStart: Date, now: number): RateHeaders {
  const reset = Math.max(1, Math.ceil((windowStart.getTime() + WINDOW_MS - now) / 1000));
  const rate: RateHeaders = {
    "ratelimit-limit": String(limit),
    "ratelimit-remaining": String(Math.max(0, limit - count)),
    "ratelimit-reset": String(reset),
  };
  if (count > limit) {
    throw new ApiError(429, "rate_limited", `Your plan allows ${limit} requests a minute.`, {
      "retry-after": String(reset),
      ...rate,
    });
  }
  return rate;
}

/** Counts a request of a caller already known to be signed in (the console's mutations). */
export async function enforceApiRate(
  ctx: AppContext,
  userId: string,
  now = Date.now(),
): Promise<RateHeaders> {
  const counted = await countApiCall(ctx, { userId, signInToCheck: null, readSession: false }, now);
  if (!counted) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
  return counted.rate;
}

export function pruneRateCounters(ctx: AppContext, now = Date.now()) {
  return asSystem(ctx.database.db, (tx) =>
    tx.execute(
      // Signup windows last an hour (src/auth/signup_throttle.ts); API windows a minute.
      sql`delete from rate_counters where window_start < ${new Date(now - 2 * WINDOW_MS).toISOString()}::timestamptz
        and (bucket not like 'signup:%' or window_start < ${new Date(now - 2 * 3600_000).toISOString()}::timestamptz)`,
    ),
  );
}
