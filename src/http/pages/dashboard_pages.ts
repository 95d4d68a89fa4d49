// The dashboard: the container card (its spawn progress streamed, dashboard_progress.ts) and its
// actions through the lifecycle, the same service the JSON API's /session routes use.

import { ContainerCard, DashboardPage } from "../../../views/pages/dashboard.tsx";
import { render } from "../../../views/render.ts";
import { ensureMaySpawn } from "../../auth/email_verification.ts";
import type { AppContext } from "../../context.ts";
import { tokenHistory, tokenUsageView } from "../../gateway/token_usage.ts";
import { listCredentials } from "../../secrets/credentials.ts";
import type { Lifecycle } from "../../sessions/lifecycle.ts";
import { getSessionView, planFor } from "../../sessions/sessions_repo.ts";
import type { SessionAction } from "../../sessions/state_machine.ts";
import { enabledTemplates } from "../../settings/user_templates.ts";
import { liveUsage } from "../live_usage.ts";
import { sessionView } from "../session.ts";
import { progressStream } from "./dashboard_progress.ts";
import type { PageBase } from "./page_base.ts";
import { formFields, html, isHtmx, PageError, page, redirect, type SignedInUser } from "./page_response.ts";

const NOTICES: Record<SessionAction | "upgrade", string | null> = {
  spawn: null,
  freeze: "Frozen. Everything in your container is kept until you restore it.",
  restore: "Restored: your container is running again.",
  kill: "Your container was killed and its data deleted.",
  upgrade: "Upgraded: your assistant runs the newest version, with everything it kept.",
};

const ACTIONS = new Set<string>(["spawn", "freeze", "restore", "kill", "upgrade"]);

async function card(
  ctx: AppContext,
  lifecycle: Lifecycle,
  user: SignedInUser,
  opts: { confirmKill?: boolean; notice?: string | null },
) {
  const [view, keys, templates] = await Promise.all([
    sessionView(ctx, user.id),
    listCredentials(ctx.database.db, user.id),
    enabledTemplates(ctx),
  ]);
  // Asks the node only when there is a live container (the card is not polled then).
  const live = view.state === "running" || view.state === "frozen";
  const upgradeAvailable = live ? await lifecycle.upgradeAvailable(user.id).catch(() => false) : false;
  return { view, hasKeys: keys.length > 0, templates, upgradeAvailable, ...opts };
}

/** The spawn form's template, when one was chosen: it must be one the user may pick. */
async function chosenTemplate(ctx: AppContext, body: unknown): Promise<{ template?: string }> {
  const template = formFields(body).template;
  if (!template) return {};
  if (!(await enabledTemplates(ctx)).includes(template))
    throw new PageError(400, "That assistant is not offered on this server. Pick one from the list.");
  return { template };
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
        return html(
          DashboardPage({ user, ...(await card(ctx, lifecycle, user, {})), ...(await tokens(ctx, user)) }),
        );
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
        return html(ContainerCard({ csrf: user.csrf, ...(await card(ctx, lifecycle, user, {})) }));
      }),
    )
    .get(
      "/dashboard/progress",
      // Like the live card, a page view (not an action): it does not count against the request rate.
      page(ctx, { access: "user" }, async (c, user) => {
        // Only htmx's SSE extension asks for the stream; anything else gets the page.
        if (!(c.request.headers.get("accept") ?? "").includes("text/event-stream"))
          return redirect(c.request, "/dashboard");
        const finalCard = async () =>
          render(
            ContainerCard({ csrf: user.csrf, outOfBand: true, ...(await card(ctx, lifecycle, user, {})) }),
          );
        return progressStream(ctx, user, finalCard, c.request.signal);
      }),
    )
    .get(
      "/dashboard/kill",
      page(ctx, { access: "user" }, async (c, user) => {
        const data = await card(ctx, lifecycle, user, { confirmKill: true });
        if (isHtmx(c.request)) return html(ContainerCard({ csrf: user.csrf, ...data }));
        return html(DashboardPage({ user, ...data, ...(await tokens(ctx, user)) }));
      }),
    )
    .post(
      "/dashboard/:action",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        const action = c.params.action ?? "";
        if (!ACTIONS.has(action)) throw new PageError(404, "There is no such container action.");
        if (action === "upgrade") {
          await lifecycle.upgrade(user.id, c.ip);
        } else {
          const options = action === "spawn" ? await chosenTemplate(ctx, c.body) : {};
          if (action === "spawn") await ensureMaySpawn(ctx, user.id);
          await lifecycle.request(user.id, action as SessionAction, c.ip, options);
        }
        if (!isHtmx(c.request)) return redirect(c.request, "/dashboard");
        const data = await card(ctx, lifecycle, user, {
          notice: NOTICES[action as SessionAction | "upgrade"],
        });
        return html(ContainerCard({ csrf: user.csrf, ...data }));
      }),
    );
