// Database access for agent_sessions. User-facing reads and writes go through asUser; the spawn job
// and the reconciler act on behalf of the platform through asSystem, always guarded by `generation`
// so a stale job can never overwrite a newer decision (a kill during a spawn wins).
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { rowFromJson } from "../db/json_rows.ts";
import { asSystem, asUser } from "../db/rls.ts";
import { agentSessions, nodes, plans, type SessionState, users } from "../db/schema.ts";
import { type SessionEvent, type SessionPatch, transition } from "./state_machine.ts";

export type SessionRow = typeof agentSessions.$inferSelect;

export const ACTIVE_STATES: SessionState[] = ["spawning", "running", "frozen"];

export async function getSessionView(db: Db, userId: string) {
  const [row] = await asUser(db, userId, (tx) =>
    tx
      .select({ session: agentSessions, plan: plans })
      .from(users)
      .innerJoin(plans, eq(plans.id, users.planId))
      .leftJoin(agentSessions, eq(agentSessions.userId, users.id))
      .where(eq(users.id, userId)),
  );
  if (!row) return null;
  let nodeName: string | null = null;
  if (row.session?.nodeId) {
    const [node] = await asSystem(db, (tx) =>
      tx
        .select({ name: nodes.name })
        .from(nodes)
        .where(eq(nodes.id, row.session?.nodeId ?? "")),
    );
    nodeName = node?.name ?? null;
  }
  return { session: row.session, plan: row.plan, nodeName };
}

export type SessionView = NonNullable<Awaited<ReturnType<typeof getSessionView>>>;

/**
 * getSessionView's result from the JSON rows that clawfleet_api_request read in the API request's one
 * statement (src/http/rate_limit.ts); null when the user's row was not there.
 */
export function sessionViewFromJson(
  plan: unknown,
  session: unknown,
  nodeName: string | null,
): SessionView | null {
  const planRow = rowFromJson(plans, plan);
  if (!planRow) return null;
  return { session: rowFromJson(agentSessions, session), plan: planRow, nodeName };
}

/** Locks (or creates) the user's one row and applies `change` to it inside one transaction. */
export function withUserSession<T>(
  db: Db,
  userId: string,
  change: (row: SessionRow, tx: Parameters<Parameters<typeof asUser>[2]>[0]) => Promise<T>,
) {
  return asUser(db, userId, async (tx) => {
    await tx
      .insert(agentSessions)
      .values({ userId, state: "none" })
      .onConflictDoNothing({ target: agentSessions.userId });
    const [row] = await tx.select().from(agentSessions).where(eq(agentSessions.userId, userId)).for("update");
    if (!row) throw new Error("session row missing after upsert");
    return change(row, tx);
  });
}

/** Applies a patch only if nobody moved the session on since `generation`. */
export async function patchIfCurrent(
  db: Db,
  id: string,
  generation: number,
  patch: SessionPatch,
): Promise<boolean> {
  const updated = await asSystem(db, (tx) =>
    tx
      .update(agentSessions)
      .set({ ...patch, updatedAt: new Date() })
      .where(and(eq(agentSessions.id, id), eq(agentSessions.generation, generation)))
      .returning({ id: agentSessions.id }),
  );
  return updated.length > 0;
}

/**
 * Writes what `event` makes of `row` (state_machine.ts), if nobody moved the session on since the row
 * was read. False when the event changes nothing, is refused, or came too late.
 */
export async function applyEvent(db: Db, row: SessionRow, event: SessionEvent): Promise<boolean> {
  const next = transition(row, event);
  if (next.kind !== "patch") return false;
  return patchIfCurrent(db, row.id, row.generation, next.patch);
}

export async function getSessionById(db: Db, id: string): Promise<SessionRow | null> {
  const [row] = await asSystem(db, (tx) => tx.select().from(agentSessions).where(eq(agentSessions.id, id)));
  return row ?? null;
}

export function activeSessions(db: Db) {
  return asSystem(db, (tx) =>
    tx
      .select({ session: agentSessions, plan: plans })
      .from(agentSessions)
      .innerJoin(users, eq(users.id, agentSessions.userId))
      .innerJoin(plans, eq(plans.id, users.planId))
      .where(inArray(agentSessions.state, ACTIVE_STATES)),
  );
}

export async function planFor(db: Db, userId: string) {
  const [row] = await asSystem(db, (tx) =>
    tx
      .select({ plan: plans })
      .from(users)
      .innerJoin(plans, eq(plans.id, users.planId))
      .where(eq(users.id, userId)),
  );
  return row?.plan ?? null;
}

/**
 * What a relayed socket calls on every frame: records the session as active (so the idle freeze
 * waits) at most once per `everyMs`, since frames can arrive thousands of times a second.
 */
export function activityRecorder(db: Db, id: string, everyMs = 30_000): () => void {
  let last = 0;
  return () => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    void touchActivity(db, id).catch(() => {});
  };
}

export async function touchActivity(db: Db, id: string) {
  await asSystem(db, (tx) =>
    tx.update(agentSessions).set({ lastActivityAt: sql`now()` }).where(eq(agentSessions.id, id)),
  );
}
