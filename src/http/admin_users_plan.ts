import { t } from "elysia";
import { setUserPlan } from "../auth/user_plans.ts";
import type { AppContext } from "../context.ts";
import { isUuid } from "../db/rls.ts";
import { requireAdmin } from "./admin.ts";
import type { ApiBase } from "./api_base.ts";
import { ApiError } from "./errors.ts";

export const adminUsersPlan = (ctx: AppContext) => (app: ApiBase) =>
  app.put(
    "/admin/users/:id/plan",
    async (c) => {
      const auth = await requireAdmin(ctx, c);
      if (!isUuid(c.params.id)) throw new ApiError(404, "not_found", "No such user.");
      return setUserPlan(ctx.database.db, {
        userId: c.params.id,
        planId: c.body.plan,
        actorId: auth.userId,
        ip: c.ip,
      });
    },
    {
      body: t.Object({ plan: t.String({ maxLength: 64 }), _csrf: t.Optional(t.String({ maxLength: 200 })) }),
    },
  );
