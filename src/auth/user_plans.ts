// Changing a user's plan (console, API, CLI): one service, one audit entry. The API rate limit follows
// at once. Container limits are fixed when the agent creates the container (the agent API has no
// update call yet), so a running or frozen container gets the new limits at its next spawn: the answer
// says so, and the console shows it.
import { eq } from "drizzle-orm";
import { audit } from "../audit.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { agentSessions, plans, users } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import { forgetPlanLimit } from "../http/rate_limit.ts";
import { ACTIVE_STATES } from "../sessions/sessions_repo.ts";

export type PlanChange = { user_id: string; plan: string; container_limits: "next_spawn" | "no_container" };

export async function setUserPlan(
  db: Db,
  input: { userId: string; planId: string; actorId: string | null; ip: string | null },
): Promise<PlanChange> {
  const result = await asSystem(db, async (tx) => {
    const [plan] = await tx.select().from(plans).where(eq(plans.id, input.planId));
    if (!plan) throw new UserError(400, "unknown_plan", `There is no plan "${input.planId.slice(0, 40)}".`);
    const [user] = await tx
      .update(users)
      .set({ planId: plan.id })
      .where(eq(users.id, input.userId))
      .returning({ id: users.id });
    if (!user) throw new UserError(404, "not_found", "No such user.");
    const [session] = await tx
      .select({ state: agentSessions.state })
      .from(agentSessions)
      .where(eq(agentSessions.userId, input.userId));
    return { planId: plan.id, hasContainer: Boolean(session && ACTIVE_STATES.includes(session.state)) };
  });
  forgetPlanLimit(input.userId);
  await audit(db, {
    action: "admin.plan_changed",
    userId: input.userId,
    actorId: input.actorId,
    target: input.userId,
    detail: { plan: result.planId },
    ip: input.ip,
  });
  return {
    user_id: input.userId,
    plan: result.planId,
    container_limits: result.hasContainer ? "next_spawn" : "no_container",
  };
}
