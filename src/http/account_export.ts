import { exportAccount } from "../auth/account_export.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireSignIn } from "./api_base.ts";

export const accountExport = (ctx: AppContext) => (app: ApiBase) =>
  app.get("/account/export", async (c) => {
    const auth = await requireSignIn(ctx, c);
    c.set.headers["content-disposition"] = 'attachment; filename="clawfleet-account.json"';
    return exportAccount(ctx, auth.userId);
  });
