import { Elysia } from "elysia";
import pkg from "../../package.json";
import type { AppContext } from "../context.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { accountDelete } from "./account_delete.ts";
import { adminRoutes } from "./admin.ts";
import { createApiBase } from "./api_base.ts";
import { authLogin } from "./auth_login.ts";
import { authLogout } from "./auth_logout.ts";
import { authMe } from "./auth_me.ts";
import { authPassword } from "./auth_password.ts";
import { authRefresh } from "./auth_refresh.ts";
import { authSessionsRoutes } from "./auth_sessions.ts";
import { authSignup } from "./auth_signup.ts";
import { credentialsRoutes } from "./credentials.ts";
import { errorHandler } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { openApiRoutes } from "./openapi.ts";
import { sessionRoutes } from "./session.ts";
import { usageRoutes } from "./usage.ts";

export function buildApi(ctx: AppContext, lifecycle: Lifecycle) {
  const killContainer = async (userId: string) => {
    await lifecycle.request(userId, "kill", null);
  };
  return createApiBase(ctx)
    .use(authSignup(ctx))
    .use(authLogin(ctx))
    .use(authRefresh(ctx))
    .use(authLogout(ctx))
    .use(authMe(ctx))
    .use(authSessionsRoutes(ctx))
    .use(authPassword(ctx))
    .use(accountDelete(ctx, [killContainer]))
    .use(credentialsRoutes(ctx))
    .use(sessionRoutes(ctx, lifecycle))
    .use(usageRoutes(ctx, lifecycle))
    .use(adminRoutes(ctx, lifecycle));
}

export function buildApp(ctx: AppContext, lifecycle: Lifecycle) {
  return new Elysia()
    .use(errorHandler(ctx.log))
    .use(healthRoutes(ctx))
    .use(openApiRoutes(pkg.version))
    .use(buildApi(ctx, lifecycle));
}

export type App = ReturnType<typeof buildApp>;
