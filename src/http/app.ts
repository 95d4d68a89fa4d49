import { Elysia } from "elysia";
import pkg from "../../package.json";
import type { AccountDeletionHook } from "../auth/account.ts";
import type { AppContext } from "../context.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { accountDelete } from "./account_delete.ts";
import { accountExport } from "./account_export.ts";
import { adminRoutes } from "./admin.ts";
import { adminInvitesRoutes } from "./admin_invites.ts";
import { adminUsersPlan } from "./admin_users_plan.ts";
import { createApiBase } from "./api_base.ts";
import { authLogin } from "./auth_login.ts";
import { authLogout } from "./auth_logout.ts";
import { authMe } from "./auth_me.ts";
import { authPassword } from "./auth_password.ts";
import { authPasswordReset } from "./auth_password_reset.ts";
import { authRefresh } from "./auth_refresh.ts";
import { signInsRoutes } from "./auth_sessions.ts";
import { authSignup } from "./auth_signup.ts";
import { authTotp } from "./auth_totp.ts";
import { authVerifyEmail } from "./auth_verify_email.ts";
import { credentialsRoutes } from "./credentials.ts";
import { errorHandler } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { openApiRoutes } from "./openapi.ts";
import { consolePages } from "./pages/console_pages.ts";
import { sessionRoutes } from "./session.ts";
import { sessionHookRoutes } from "./session_hook.ts";
import { sessionUpgradeRoutes } from "./session_upgrade.ts";
import { settingsRoutes } from "./settings.ts";
import { staticRoutes } from "./static.ts";
import { templatesRoutes } from "./templates.ts";
import { tokensRoutes } from "./tokens.ts";
import { usageRoutes } from "./usage.ts";

/** What runs before an account is deleted (API and console alike): its container is killed. */
export function accountDeletionHooks(lifecycle: Lifecycle): AccountDeletionHook[] {
  return [
    async (userId) => {
      await lifecycle.request(userId, "kill", null);
    },
  ];
}

export function buildApi(ctx: AppContext, lifecycle: Lifecycle) {
  return (
    createApiBase(ctx)
      .use(authSignup(ctx))
      .use(authLogin(ctx))
      .use(authRefresh(ctx))
      .use(authLogout(ctx))
      .use(authMe(ctx))
      .use(signInsRoutes(ctx))
      .use(authPassword(ctx))
      .use(accountDelete(ctx, accountDeletionHooks(lifecycle)))
      .use(credentialsRoutes(ctx))
      .use(sessionUpgradeRoutes(ctx, lifecycle))
      .use(sessionRoutes(ctx, lifecycle))
      .use(sessionHookRoutes(ctx))
      .use(usageRoutes(ctx, lifecycle))
      .use(adminRoutes(ctx, lifecycle))
      .use(adminInvitesRoutes(ctx))
      // Accounts for real users (issue 17).
      .use(authPasswordReset(ctx))
      .use(authVerifyEmail(ctx))
      .use(authTotp(ctx))
      .use(tokensRoutes(ctx))
      .use(settingsRoutes(ctx))
      .use(templatesRoutes(ctx))
      .use(accountExport(ctx))
      .use(adminUsersPlan(ctx, lifecycle))
  );
}

export function buildApp(ctx: AppContext, lifecycle: Lifecycle) {
  return (
    new Elysia()
      .use(errorHandler(ctx.log))
      .use(healthRoutes(ctx))
      .use(openApiRoutes(pkg.version))
      // The web console (issue 8): its static files, then its pages. Mounted before the API so the
      // API's scoped hooks (JSON errors, bearer auth) do not apply to the pages.
      .use(staticRoutes())
      .use(consolePages(ctx, lifecycle, accountDeletionHooks(lifecycle)))
      .use(buildApi(ctx, lifecycle))
  );
}

export type App = ReturnType<typeof buildApp>;
