import { isProvider, type Provider } from "../../common/providers.ts";
import { ensureMaySpawn } from "../auth/email_verification.ts";
import type { AppContext } from "../context.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { getSessionView } from "../sessions/sessions_repo.ts";
import { presentSteps } from "../sessions/spawn_steps.ts";
import type { SessionAction } from "../sessions/state_machine.ts";
import { updateUserSettings } from "../settings/user_settings.ts";
import { enabledTemplates } from "../settings/user_templates.ts";
import { type ApiBase, requireUser, requireUserWithSession } from "./api_base.ts";
import { ApiError } from "./errors.ts";
import { sessionViewAfterChange, waitSeconds } from "./session_wait.ts";

const ACTIONS = new Set<SessionAction>(["spawn", "freeze", "restore", "kill"]);

export type SpawnOptions = { template?: string; provider?: Provider; model?: string };

/**
 * EasyClaw's optional spawn body `{template, provider, model}`. The template must be one an
 * administrator enabled; provider and model are checked for shape and become the user's chat
 * defaults (their settings), which the console hands to the runtime.
 */
async function checkSpawnOptions(ctx: AppContext, body: unknown): Promise<SpawnOptions> {
  if (body === undefined || body === null || body === "") return {};
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "invalid_request", "The spawn body must be a JSON object.");
  }
  const { template, provider, model, _csrf, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length) {
    throw new ApiError(400, "invalid_request", `Unknown field "${Object.keys(rest)[0]?.slice(0, 40)}".`);
  }
  if (template !== undefined) {
    const enabled = await enabledTemplates(ctx);
    if (typeof template !== "string" || !enabled.includes(template)) {
      throw new ApiError(
        400,
        "template_not_allowed",
        `That template is not enabled on this server. Pick one of: ${enabled.join(", ")}.`,
      );
    }
  }
  if (provider !== undefined && !isProvider(provider)) {
    throw new ApiError(400, "invalid_provider", "provider must be anthropic, openai, google or openrouter.");
  }
  if (model !== undefined && (typeof model !== "string" || !/^[\w.:/@-]{1,100}$/.test(model))) {
    throw new ApiError(400, "invalid_model", "model must be a model name of up to 100 characters.");
  }
  return {
    ...(template === undefined ? {} : { template: template as string }),
    ...(provider === undefined ? {} : { provider: provider as Provider }),
    ...(model === undefined ? {} : { model: model as string }),
  };
}

export async function sessionView(ctx: AppContext, userId: string) {
  const view = await getSessionView(ctx.database.db, userId);
  if (!view) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
  return presentSession(view);
}

/** The API's shape of GET /api/v1/session, from what the repository read. */
export function presentSession(view: NonNullable<Awaited<ReturnType<typeof getSessionView>>>) {
  const s = view.session;
  const live = s && s.state !== "none";
  return {
    state: s?.state ?? "none",
    // EasyClaw's names: `status` mirrors `state`; Docker's default hostname is the id's first 12.
    status: s?.state ?? "none",
    container_id: live ? (s.dockerId ?? null) : null,
    hostname: live && s.dockerId ? s.dockerId.slice(0, 12) : null,
    node: s?.state && s.state !== "none" ? view.nodeName : null,
    template: live ? s.template : null,
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
    // The latest spawn's steps with their durations, while it runs, once running, and when it failed.
    steps: presentSteps(s?.spawnSteps, s?.state ?? "none"),
    created_at: live ? s.createdAt.toISOString() : null,
  };
}

export const sessionRoutes = (ctx: AppContext, lifecycle: Lifecycle) => (app: ApiBase) =>
  app
    .get("/session", async (c) => {
      // The common case is one statement: sign-in, count and the session read (src/http/rate_limit.ts).
      if (c.query.wait === undefined) {
        const { view } = await requireUserWithSession(ctx, c);
        if (!view) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
        return presentSession(view);
      }
      const auth = await requireUser(ctx, c);
      const wait = waitSeconds(c.query.wait);
      return wait
        ? sessionViewAfterChange(ctx, lifecycle, auth, c.request, wait)
        : sessionView(ctx, auth.userId);
    })
    .post("/session/:action", async (c) => {
      const action = c.params.action as SessionAction;
      if (!ACTIONS.has(action)) throw new ApiError(404, "not_found", "No such session action.");
      const auth = await requireUser(ctx, c);
      let options: SpawnOptions = {};
      if (action === "spawn") {
        options = await checkSpawnOptions(ctx, c.body);
        await ensureMaySpawn(ctx, auth.userId);
        if (options.provider || options.model) {
          await updateUserSettings(
            ctx.database.db,
            { userId: auth.userId, ip: c.ip },
            {
              ...(options.provider ? { default_provider: options.provider } : {}),
              ...(options.model ? { default_model: options.model } : {}),
            },
          );
        }
      }
      await lifecycle.request(auth.userId, action, c.ip, { template: options.template });
      c.set.status = 202;
      return sessionView(ctx, auth.userId);
    });
