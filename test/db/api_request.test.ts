// clawfleet_api_request (migrations/0012_apiperf.sql), the one statement of an authenticated API
// request: it refuses a sign-in that is revoked, expired, idle or another user's (and then counts
// nothing), counts against the plan read in the same statement, reads what getSessionView reads, and
// does that read under row-level security as clawfleet_app, leaving the caller's role and user context
// as they were.
import { expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { DEFAULT_SIGN_IN_POLICY } from "../../src/auth/refresh_tokens.ts";
import type { AppContext } from "../../src/context.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { agentSessions, nodes, plans, signIns, users } from "../../src/db/schema.ts";
import { ApiError } from "../../src/http/errors.ts";
import { countApiCall } from "../../src/http/rate_limit.ts";
import { getSessionView } from "../../src/sessions/sessions_repo.ts";
import { describeEachDriver, seedSignedInUser } from "../helpers/db.ts";

describeEachDriver("one statement per authenticated API request", (db) => {
  const ctx = () => ({ database: db(), auth: { policy: DEFAULT_SIGN_IN_POLICY } }) as unknown as AppContext;

  const seedUser = (email: string, signIn: Partial<typeof signIns.$inferInsert> = {}) =>
    seedSignedInUser(db().db, email, signIn);

  async function counted(userId: string): Promise<number> {
    const [row] = rowsOf<{ total: number | null }>(
      await asSystem(db().db, (tx) =>
        tx.execute(sql`select sum(count)::int as total from rate_counters where bucket = ${`api:${userId}`}`),
      ),
    );
    return Number(row?.total ?? 0);
  }

  const call = (userId: string, signInToCheck: string | null, readSession = true) =>
    countApiCall(ctx(), { userId, signInToCheck, readSession });

  test("an active sign-in is counted and reads exactly what getSessionView reads", async () => {
    const { userId, signInId } = await seedUser("view@example.test");
    const first = await call(userId, signInId);
    expect(first?.view).toEqual(await getSessionView(db().db, userId));
    expect(first?.view?.session).toBeNull();
    expect(first?.rate["ratelimit-limit"]).toBe("30");
    expect(first?.rate["ratelimit-remaining"]).toBe("29");
    const [node] = await asSystem(db().db, (tx) =>
      tx.insert(nodes).values({ name: "node-a", url: "https://127.0.0.1:1", fingerprint: "f" }).returning(),
    );
    await asSystem(db().db, (tx) =>
      tx
        .insert(agentSessions)
        .values({ userId, nodeId: node?.id, state: "running", dockerId: "abc123", progress: "ready" }),
    );
    const second = await call(userId, signInId);
    const expected = await getSessionView(db().db, userId);
    expect(second?.view).toEqual(expected);
    expect(second?.view?.nodeName).toBe("node-a");
    expect(second?.view?.session?.createdAt).toBeInstanceOf(Date);
    expect(second?.rate["ratelimit-remaining"]).toBe("28");
    expect(await call(userId, signInId, false)).toEqual({ rate: expect.any(Object), view: null });
    expect(await counted(userId)).toBe(3);
  });

  test("a revoked, expired, idle or another user's sign-in is refused and not counted", async () => {
    const revoked = await seedUser("revoked@example.test", { revokedAt: new Date() });
    const expired = await seedUser("expired@example.test", { expiresAt: new Date(Date.now() - 1000) });
    const idle = await seedUser("idle@example.test", {
      lastUsedAt: new Date(Date.now() - DEFAULT_SIGN_IN_POLICY.idleMs - 1000),
    });
    const other = await seedUser("other@example.test");
    for (const user of [revoked, expired, idle]) {
      expect(await call(user.userId, user.signInId)).toBeNull();
      expect(await counted(user.userId)).toBe(0);
    }
    expect(await call(other.userId, revoked.signInId)).toBeNull();
    expect(await call(revoked.userId, other.signInId)).toBeNull();
    expect(await counted(other.userId)).toBe(0);
    // Revoking takes effect on the very next statement.
    expect(await call(other.userId, other.signInId)).not.toBeNull();
    await asSystem(db().db, (tx) =>
      tx.update(signIns).set({ revokedAt: new Date() }).where(eq(signIns.userId, other.userId)),
    );
    expect(await call(other.userId, other.signInId)).toBeNull();
  });

  test("the plan's limit is read in the statement: over it, 429, and a plan change applies at once", async () => {
    const { userId, signInId } = await seedUser("limit@example.test");
    await asSystem(db().db, (tx) =>
      tx.insert(plans).values({
        id: "tiny",
        name: "Tiny",
        cpuMillis: 100,
        memoryMb: 64,
        pidsLimit: 32,
        diskMb: 64,
        apiRequestsPerMinute: 2,
        idleFreezeMinutes: 5,
      }),
    );
    await asSystem(db().db, (tx) => tx.update(users).set({ planId: "tiny" }).where(eq(users.id, userId)));
    expect(await call(userId, signInId)).not.toBeNull();
    expect(await call(userId, signInId)).not.toBeNull();
    const refused = await call(userId, signInId).catch((error) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    await asSystem(db().db, (tx) => tx.update(users).set({ planId: "free" }).where(eq(users.id, userId)));
    expect((await call(userId, signInId))?.rate["ratelimit-limit"]).toBe("30");
  });

  const API_REQUEST = (userId: string) =>
    sql`select session from clawfleet_api_request(${userId}::uuid, null, now(), 1000::bigint, ${`api:${userId}`}, date_trunc('minute', now()), true)`;

  /** Runs `fn` in a transaction that is always rolled back (the policies it adds are gone after). */
  async function rolledBack<T>(
    fn: (tx: Parameters<Parameters<ReturnType<typeof db>["db"]["transaction"]>[0]>[0]) => Promise<T>,
  ) {
    let result: T | undefined;
    await db()
      .db.transaction(async (tx) => {
        result = await fn(tx);
        throw new Error("rollback");
      })
      .catch((error) => {
        if ((error as Error).message !== "rollback") throw error;
      });
    return result as T;
  }

  test("the session is read under RLS as clawfleet_app, and the caller's role and user are restored", async () => {
    const { userId } = await seedUser("rls@example.test");
    await asSystem(db().db, (tx) => tx.insert(agentSessions).values({ userId, state: "frozen" }));
    const hiddenFromApp = await rolledBack(async (tx) => {
      await tx.execute(
        sql`create policy deny_app on agent_sessions as restrictive to clawfleet_app using (false)`,
      );
      return rowsOf<{ session: unknown }>(await tx.execute(API_REQUEST(userId)))[0]?.session;
    });
    expect(hiddenFromApp).toBeNull();
    const hiddenFromSystem = await rolledBack(async (tx) => {
      await tx.execute(
        sql`create policy deny_system on agent_sessions as restrictive to clawfleet_system using (false)`,
      );
      return rowsOf<{ session: { state: string } | string }>(await tx.execute(API_REQUEST(userId)))[0]
        ?.session;
    });
    const session = typeof hiddenFromSystem === "string" ? JSON.parse(hiddenFromSystem) : hiddenFromSystem;
    expect(session?.state).toBe("frozen");
    const after = await rolledBack(async (tx) => {
      const [before] = rowsOf<{ role: string }>(await tx.execute(sql`select current_user as role`));
      await tx.execute(API_REQUEST(userId));
      const [row] = rowsOf<{ role: string; user_id: string | null }>(
        await tx.execute(sql`select current_user as role, current_setting('app.user_id', true) as user_id`),
      );
      return { before: before?.role, ...row };
    });
    expect(after.role).toBe(after.before ?? "");
    expect(after.role).not.toBe("clawfleet_app");
    expect(after.user_id ?? "").toBe("");
  });
});
