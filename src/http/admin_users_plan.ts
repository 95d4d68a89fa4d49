import { t } from "elysia";
import { setUserPlan } from "../auth/user_plans.ts";
import type { AppContext } from "../context.ts";
import { isUuid } from "../db/rls.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { liveLimitsApplier } from "../sessions/live_limits.ts";
import { requireAdmin } from "./admin.ts";
import type { ApiBase } from "./api_base.ts";
import { ApiError } from "./errors.ts";

export const adminUsersPlan = (ctx: AppContext, lifecycle: Lifecycle) => (app: ApiBase) =>
  app.put(
    "/admin/users/:id/plan",
    async (c) => {
      const auth = await requireAdmin(ctx, c);
      if (!isUuid(c.params.id)) throw new ApiError(404, "not_found", "No such user.");
      return setUserPlan(
        ctx.database.db,
        { userId: c.params.id, planId: c.body.plan, actorId: auth.userId, ip: c.ip },
        liveLimitsFor(ctx, lifecycle),
      );
    },
    {
      body: t.Object({ plan: t.String({ maxLength: 64 }), _csrf: t.Optional(t.String({ maxLength: 200 })) }),
    },
  );

export function liveLimitsFor(ctx: AppContext, lifecycle: Lifecycle) {
  return liveLimitsApplier(
    (nodeId) => lifecycle.fleet.agentForNode(nodeId),
    (error) => ctx.log.warn("the new plan's limits could not be applied live", { error }),
  );
}
