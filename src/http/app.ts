import { Elysia } from "elysia";
import type { AppContext } from "../context.ts";
import { accountDelete } from "./account_delete.ts";
import { createApiBase } from "./api_base.ts";
import { authLogin } from "./auth_login.ts";
import { authLogout } from "./auth_logout.ts";
import { authMe } from "./auth_me.ts";
import { authPassword } from "./auth_password.ts";
import { authRefresh } from "./auth_refresh.ts";
import { authSessionsRoutes } from "./auth_sessions.ts";
import { authSignup } from "./auth_signup.ts";
import { isSecureRequest } from "./client_ip.ts";
import { credentialsRoutes } from "./credentials.ts";
import { errorHandler } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { applySecurityHeaders } from "./security_headers.ts";

export function buildApi(ctx: AppContext) {
  return createApiBase(ctx)
    .use(authSignup(ctx))
    .use(authLogin(ctx))
    .use(authRefresh(ctx))
    .use(authLogout(ctx))
    .use(authMe(ctx))
    .use(authSessionsRoutes(ctx))
    .use(authPassword(ctx))
    .use(accountDelete(ctx))
    .use(credentialsRoutes(ctx));
}

export function buildApp(ctx: AppContext) {
  return new Elysia()
    .use(errorHandler(ctx.log))
    .onRequest(({ request, set, server }) => {
      const peer = server?.requestIP(request)?.address;
      applySecurityHeaders(set.headers, isSecureRequest(request, peer, ctx.config.trustedProxies));
    })
    .use(healthRoutes(ctx))
    .use(buildApi(ctx));
}

export type App = ReturnType<typeof buildApp>;
