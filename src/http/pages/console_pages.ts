// The web console: every page route on one base (see page_base.ts), mounted before the JSON API.
import type { AccountDeletionHook } from "../../auth/account.ts";
import type { AppContext } from "../../context.ts";
import type { Lifecycle } from "../../sessions/lifecycle.ts";
import { accountPages } from "./account_pages.ts";
import { accountSecurityPages } from "./account_security_pages.ts";
import { adminPages } from "./admin_pages.ts";
import { adminTemplatesPages } from "./admin_templates_pages.ts";
import { adminUsersPages } from "./admin_users_pages.ts";
import { authPages } from "./auth_pages.ts";
import { channelsPages } from "./channels_pages.ts";
import { dashboardPages } from "./dashboard_pages.ts";
import { keysPages } from "./keys_pages.ts";
import { createPageBase } from "./page_base.ts";
import { passwordResetPages } from "./password_reset_pages.ts";
import { sessionToolPages } from "./session_tool_pages.ts";
import { settingsPages } from "./settings_pages.ts";

export function consolePages(ctx: AppContext, lifecycle: Lifecycle, beforeDelete: AccountDeletionHook[]) {
  return createPageBase(ctx)
    .use(authPages(ctx))
    .use(dashboardPages(ctx, lifecycle))
    .use(keysPages(ctx))
    .use(channelsPages(ctx, lifecycle))
    .use(sessionToolPages(ctx))
    .use(settingsPages(ctx))
    .use(accountPages(ctx, beforeDelete))
    .use(adminPages(ctx, lifecycle))
    .use(adminTemplatesPages(ctx))
    .use(passwordResetPages(ctx))
    .use(accountSecurityPages(ctx))
    .use(adminUsersPages(ctx, lifecycle));
}
