// GET/PUT /api/v1/settings: the user's assistant settings (src/settings/user_settings.ts).
import type { AppContext } from "../context.ts";
import { getUserSettings, updateUserSettings } from "../settings/user_settings.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

export const settingsRoutes = (ctx: AppContext) => (app: ApiBase) =>
  app
    .get("/settings", async (c) => {
      const auth = await requireUser(ctx, c);
      return getUserSettings(ctx.database.db, auth.userId);
    })
    .put("/settings", async (c) => {
      const auth = await requireUser(ctx, c);
      return updateUserSettings(ctx.database.db, { userId: auth.userId, ip: c.ip }, c.body);
    });
