// The dashboard: the container card (polled while spawning) and its actions through the lifecycle,
// the same service the JSON API's /session routes use.

import { ContainerCard, DashboardPage } from "../../../views/pages/dashboard.tsx";
import { ensureMaySpawn } from "../../auth/email_verification.ts";
import type { AppContext } from "../../context.ts";
import { tokenHistory, tokenUsageView } from "../../gateway/token_usage.ts";
import { listCredentials } from "../../secrets/credentials.ts";
import type { Lifecycle } from "../../sessions/lifecycle.ts";
import { getSessionView, planFor } from "../../sessions/sessions_repo.ts";
import type { SessionAction } from "../../sessions/state_machine.ts";
import { liveUsage } from "../live_usage.ts";
import { sessionView } from "../session.ts";
import type { PageBase } from "./page_base.ts";
import { html, isHtmx, PageError, page, redirect, type SignedInUser } from "./page_response.ts";

const NOTICES: Record<SessionAction, string | null> = {
  spawn: null,
  freeze: "Frozen. Everything in your container is kept until you restore it.",
  restore: "Restored: your container is running again.",
  kill: "Your container was killed and its data deleted.",
};

const ACTIONS = new Set<string>(["spawn", "freeze", "restore", "kill"]);

async function card(
  ctx: AppContext,
  user: SignedInUser,
  opts: { confirmKill?: boolean; notice?: string | null },
) {
  const [view, keys] = await Promise.all([
    sessionView(ctx, user.id),
    listCredentials(ctx.database.db, user.id),
  ]);
  return { view, hasKeys: keys.length > 0, ...opts };
}

const CHART_DAYS = 14;

async function tokens(ctx: AppContext, user: SignedInUser) {
  const plan = await planFor(ctx.database.db, user.id);
  const [usage, history] = await Promise.all([
    tokenUsageView(ctx.database.db, user.id, plan?.monthlyTokenBudget ?? null),
    tokenHistory(ctx.database.db, user.id, CHART_DAYS),
  ]);
  return { tokens: usage, history };
}

export const dashboardPages = (ctx: AppContext, lifecycle: Lifecycle) => (app: PageBase) =>
  app
    .get(
      "/dashboard",
      page(ctx, { access: "user" }, async (_c, user) => {
        return html(DashboardPage({ user, ...(await card(ctx, user, {})), ...(await tokens(ctx, user)) }));
      }),
    )
    .get(
      "/dashboard/live",
      // Polled by dashboard.js: like the card's polling it is a page view, not an action, so it does
      // not count against the plan's request rate.
      page(ctx, { access: "user" }, async (_c, user) => {
        const raw = await getSessionView(ctx.database.db, user.id);
        const live = raw ? await liveUsage(ctx, lifecycle, raw.session) : null;
        return new Response(JSON.stringify({ state: raw?.session?.state ?? "none", live }), {
          headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
        });
      }),
    )
    .get(
      "/dashboard/container",
      page(ctx, { access: "user" }, async (c, user) => {
        if (!isHtmx(c.request)) return redirect(c.request, "/dashboard");
        return html(ContainerCard({ csrf: user.csrf, ...(await card(ctx, user, {})) }));
      }),
    )
    .get(
      "/dashboard/kill",
      page(ctx, { access: "user" }, async (c, user) => {
        const data = await card(ctx, user, { confirmKill: true });
        if (isHtmx(c.request)) return html(ContainerCard({ csrf: user.csrf, ...data }));
        return html(DashboardPage({ user, ...data, ...(await tokens(ctx, user)) }));
      }),
    )
    .post(
      "/dashboard/:action",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        const action = c.params.action ?? "";
        if (!ACTIONS.has(action)) throw new PageError(404, "There is no such container action.");
        if (action === "spawn") await ensureMaySpawn(ctx, user.id);
        await lifecycle.request(user.id, action as SessionAction, c.ip);
        if (!isHtmx(c.request)) return redirect(c.request, "/dashboard");
        const data = await card(ctx, user, { notice: NOTICES[action as SessionAction] });
        return html(ContainerCard({ csrf: user.csrf, ...data }));
      }),
    );
