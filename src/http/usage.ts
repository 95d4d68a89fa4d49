import type { AppContext } from "../context.ts";
import { MAX_HISTORY_DAYS, tokenHistory, tokenUsageView } from "../gateway/token_usage.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { getSessionView, planFor } from "../sessions/sessions_repo.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";
import { liveUsage } from "./live_usage.ts";
import { presentSession } from "./session.ts";

/**
 * The user's live container usage, read from the agent (never stored per user), beside the plan's
 * limits, and the tokens the provider gateway metered (today and this month, per provider and model).
 */
export const usageRoutes = (ctx: AppContext, lifecycle: Lifecycle) => (app: ApiBase) =>
  app
    .get("/usage", async (c) => {
      const auth = await requireUser(ctx, c);
      const raw = await getSessionView(ctx.database.db, auth.userId);
      if (!raw) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
      const view = presentSession(raw);
      const live = await liveUsage(ctx, lifecycle, raw.session);
      const plan = await planFor(ctx.database.db, auth.userId);
      const tokens = await tokenUsageView(ctx.database.db, auth.userId, plan?.monthlyTokenBudget ?? null);
      return { state: view.state, plan: view.plan, live, tokens };
    })
    .get("/usage/history", async (c) => {
      const auth = await requireUser(ctx, c);
      const raw = c.query.days ?? "30";
      const days = Number(raw);
      if (!/^\d{1,4}$/.test(raw) || days < 1 || days > MAX_HISTORY_DAYS)
        throw new ApiError(400, "invalid_days", `days must be a whole number from 1 to ${MAX_HISTORY_DAYS}.`);
      return { days: await tokenHistory(ctx.database.db, auth.userId, days) };
    });
