// Per-plan API rate limits (requests a minute), counted in PostgreSQL so every replica shares them:
// one upsert per authenticated request into a fixed one-minute window. The upsert is one autocommit
// statement (clawfleet_count_request, migrations/0009_perf.sql, runs it as clawfleet_system): no
// transaction around it, so a user's many connections hold the counter row's lock for the statement
// alone instead of until a COMMIT round trip later.
import { eq, sql } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { rowsOf } from "../db/client.ts";
import { asSystem, asUser } from "../db/rls.ts";
import { plans, users } from "../db/schema.ts";
import { ApiError } from "./errors.ts";

const WINDOW_MS = 60_000;
const planCache = new Map<string, { limit: number; until: number }>();

async function planLimit(ctx: AppContext, userId: string): Promise<number> {
  const cached = planCache.get(userId);
  if (cached && cached.until > Date.now()) return cached.limit;
  const [row] = await asUser(ctx.database.db, userId, (tx) =>
    tx
      .select({ limit: plans.apiRequestsPerMinute })
      .from(users)
      .innerJoin(plans, eq(plans.id, users.planId))
      .where(eq(users.id, userId)),
  );
  const limit = row?.limit ?? 30;
  planCache.set(userId, { limit, until: Date.now() + 30_000 });
  return limit;
}

/** Forgets cached plan limits (after an admin changed a plan), so the new limit applies at once. */
export function forgetPlanLimit(userId: string) {
  planCache.delete(userId);
}

/** The IETF RateLimit headers of one window. */
export type RateHeaders = {
  "ratelimit-limit": string;
  "ratelimit-remaining": string;
  "ratelimit-reset": string;
};

export async function enforceApiRate(
  ctx: AppContext,
  userId: string,
  now = Date.now(),
): Promise<RateHeaders> {
  const limit = await planLimit(ctx, userId);
  const windowStart = new Date(Math.floor(now / WINDOW_MS) * WINDOW_MS);
  const [row] = rowsOf<{ count: number }>(
    await ctx.database.db.execute(
      sql`select clawfleet_count_request(${`api:${userId}`}, ${windowStart.toISOString()}::timestamptz) as count`,
    ),
  );
  const reset = Math.max(1, Math.ceil((windowStart.getTime() + WINDOW_MS - now) / 1000));
  const headers: RateHeaders = {
    "ratelimit-limit": String(limit),
    "ratelimit-remaining": String(Math.max(0, limit - (row?.count ?? 0))),
    "ratelimit-reset": String(reset),
  };
  if ((row?.count ?? 0) > limit) {
    throw new ApiError(429, "rate_limited", `Your plan allows ${limit} requests a minute.`, {
      "retry-after": String(reset),
      ...headers,
    });
  }
  return headers;
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
