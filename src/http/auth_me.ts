import { csrfTokenFor } from "../auth/csrf.ts";
import { getUserWithPlan, toPublicUser } from "../auth/users.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";

export const authMe = (ctx: AppContext) => (app: ApiBase) =>
  app
    .get("/auth/me", async (c) => {
      const auth = await requireUser(ctx, c);
      const row = await getUserWithPlan(ctx.database.db, auth.userId);
      if (!row) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
      return { user: toPublicUser(row.users), session_id: auth.signInId };
    })
    .get("/auth/csrf", async (c) => {
      const auth = await requireUser(ctx, c);
      return { csrf_token: await csrfTokenFor(ctx.auth.keys.csrfKey, auth.signInId) };
    });
