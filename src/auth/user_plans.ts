// Changing a user's plan (console, API, CLI): one service, one audit entry. The API rate limit follows
// at once on every replica (each request reads it, src/http/rate_limit.ts); a running or frozen
// container gets the new memory, CPU and pids limits live when its agent can apply them
// (src/sessions/live_limits.ts), otherwise at its next spawn. The answer says which.
import { eq } from "drizzle-orm";
import { audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { agentSessions, plans, users } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import type { LimitsOutcome, LiveLimitsApplier } from "../sessions/live_limits.ts";
import { ACTIVE_STATES } from "../sessions/sessions_repo.ts";

export type PlanChange = { user_id: string; plan: string; container_limits: LimitsOutcome };

export async function setUserPlan(
  db: Db,
  input: { userId: string; planId: string; actorId: string | null; ip: string | null },
  applyLive: LiveLimitsApplier | null = null,
): Promise<PlanChange> {
  const { plan, session } = await asSystem(db, async (tx) => {
    const [plan] = await tx.select().from(plans).where(eq(plans.id, input.planId));
    if (!plan) throw new UserError(400, "unknown_plan", `There is no plan "${input.planId.slice(0, 40)}".`);
    const [user] = await tx
      .update(users)
      .set({ planId: plan.id })
      .where(eq(users.id, input.userId))
      .returning({ id: users.id });
    if (!user) throw new UserError(404, "not_found", "No such user.");
    const [session] = await tx.select().from(agentSessions).where(eq(agentSessions.userId, input.userId));
    return { plan, session: session ?? null };
  });
  const outcome: LimitsOutcome = applyLive
    ? await applyLive(session, plan)
    : session && ACTIVE_STATES.includes(session.state)
      ? "next_spawn"
      : "no_container";
  await audit(db, {
    action: "admin.plan_changed",
    userId: input.userId,
    actorId: input.actorId,
    target: input.userId,
    detail: { plan: plan.id, container_limits: outcome },
    ip: input.ip,
  });
  return { user_id: input.userId, plan: plan.id, container_limits: outcome };
}
