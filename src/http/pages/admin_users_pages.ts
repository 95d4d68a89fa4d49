// /admin/users: the user list and plan changes (the same service as the API and the CLI).
import { asc } from "drizzle-orm";
import { AdminUsersPage } from "../../../views/pages/admin_users.tsx";
import { setUserPlan } from "../../auth/user_plans.ts";
import type { AppContext } from "../../context.ts";
import { asSystem, isUuid } from "../../db/rls.ts";
import { plans, users } from "../../db/schema.ts";
import { UserError } from "../../errors.ts";
import type { Lifecycle } from "../../sessions/lifecycle.ts";
import { liveLimitsFor } from "../admin_users_plan.ts";
import type { PageBase } from "./page_base.ts";
import { errorResponse, formFields, html, PageError, page, type SignedInUser } from "./page_response.ts";

const USER_ROWS = 500;

async function usersPage(
  ctx: AppContext,
  user: SignedInUser,
  extra: { notice?: string; error?: string } = {},
  status = 200,
) {
  const [rows, planRows] = await asSystem(ctx.database.db, (tx) =>
    Promise.all([
      tx.select().from(users).orderBy(asc(users.createdAt)).limit(USER_ROWS),
      tx.select({ id: plans.id, name: plans.name }).from(plans).orderBy(asc(plans.apiRequestsPerMinute)),
    ]),
  );
  return html(
    AdminUsersPage({
      user,
      users: rows.map((u) => ({
        id: u.id,
        email: u.email,
        plan: u.planId,
        isAdmin: u.isAdmin,
        createdAt: u.createdAt,
      })),
      plans: planRows,
      ...extra,
    }),
    status,
  );
}

export const adminUsersPages = (ctx: AppContext, lifecycle: Lifecycle) => (app: PageBase) =>
  app
    .get(
      "/admin/users",
      page(ctx, { access: "admin" }, async (_c, user) => usersPage(ctx, user)),
    )
    .post(
      "/admin/users/:id/plan",
      page(ctx, { access: "admin", mutation: true }, async (c, user) => {
        const id = c.params.id ?? "";
        if (!isUuid(id)) throw new PageError(404, "No such user.");
        try {
          const change = await setUserPlan(
            ctx.database.db,
            { userId: id, planId: formFields(c.body).plan ?? "", actorId: user.id, ip: c.ip },
            liveLimitsFor(ctx, lifecycle),
          );
          const when = {
            live: "Their running container got the new memory, CPU and process limits now; the disk size applies at its next spawn.",
            next_spawn: "Their container keeps its current limits until its next spawn.",
            no_container: "They have no container now; the next one gets the new limits.",
          }[change.container_limits];
          return usersPage(ctx, user, { notice: `Plan changed to ${change.plan}. ${when}` });
        } catch (error) {
          if (!(error instanceof UserError)) return errorResponse(ctx, c.request, user, error);
          return usersPage(ctx, user, { error: error.message }, error.status);
        }
      }),
    );
