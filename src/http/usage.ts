import type { AppContext } from "../context.ts";
import { getNode } from "../fleet/nodes.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { getSessionView } from "../sessions/sessions_repo.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";
import { presentSession } from "./session.ts";

/** The user's live usage, read from the agent (never stored per user), beside the plan's limits. */
export const usageRoutes = (ctx: AppContext, lifecycle: Lifecycle) => (app: ApiBase) =>
  app.get("/usage", async (c) => {
    const auth = await requireUser(ctx, c);
    const raw = await getSessionView(ctx.database.db, auth.userId);
    if (!raw) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
    const view = presentSession(raw);
    let live: Record<string, number> | null = null;
    const session = raw.session;
    if (session?.nodeId && (session.state === "running" || session.state === "frozen")) {
      const node = await getNode(ctx.database.db, session.nodeId);
      const stats = node
        ? await lifecycle.fleet
            .agentFor(node)
            .stats(session.id)
            .catch(() => null)
        : null;
      if (stats) {
        live = {
          cpu_percent: stats.cpuPercent,
          memory_bytes: stats.memoryBytes,
          memory_limit_bytes: stats.memoryLimitBytes,
          pids: stats.pids,
        };
      }
    }
    return { state: view.state, plan: view.plan, live };
  });
