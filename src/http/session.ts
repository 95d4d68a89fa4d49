import type { AppContext } from "../context.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { getSessionView } from "../sessions/sessions_repo.ts";
import type { SessionAction } from "../sessions/state_machine.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";

const ACTIONS = new Set<SessionAction>(["spawn", "freeze", "restore", "kill"]);

export async function sessionView(ctx: AppContext, userId: string) {
  const view = await getSessionView(ctx.database.db, userId);
  if (!view) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
  return presentSession(view);
}

/** The API's shape of GET /api/v1/session, from what the repository read. */
export function presentSession(view: NonNullable<Awaited<ReturnType<typeof getSessionView>>>) {
  const s = view.session;
  return {
    state: s?.state ?? "none",
    node: s?.state && s.state !== "none" ? view.nodeName : null,
    plan: {
      id: view.plan.id,
      name: view.plan.name,
      cpu_millis: view.plan.cpuMillis,
      memory_mb: view.plan.memoryMb,
      pids_limit: view.plan.pidsLimit,
      disk_mb: view.plan.diskMb,
      api_requests_per_minute: view.plan.apiRequestsPerMinute,
      idle_freeze_minutes: view.plan.idleFreezeMinutes,
    },
    progress: s?.state === "spawning" || s?.state === "running" ? s.progress : null,
    failure_reason: s?.state === "failed" ? s.failureReason : null,
    created_at: s && s.state !== "none" ? s.updatedAt.toISOString() : null,
  };
}

export const sessionRoutes = (ctx: AppContext, lifecycle: Lifecycle) => (app: ApiBase) =>
  app
    .get("/session", async (c) => {
      const auth = await requireUser(ctx, c);
      return sessionView(ctx, auth.userId);
    })
    .post("/session/:action", async (c) => {
      const action = c.params.action as SessionAction;
      if (!ACTIONS.has(action)) throw new ApiError(404, "not_found", "No such session action.");
      const auth = await requireUser(ctx, c);
      await lifecycle.request(auth.userId, action, c.ip);
      c.set.status = 202;
      return sessionView(ctx, auth.userId);
    });
