// GET /api/v1/templates: what the user may pick at spawn. GET/PUT /api/v1/admin/templates: the list
// administrators enable (src/settings/user_templates.ts).
import type { AppContext } from "../context.ts";
import { enabledTemplates, KNOWN_TEMPLATES, setEnabledTemplates } from "../settings/user_templates.ts";
import { requireAdmin } from "./admin.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

export const templatesRoutes = (ctx: AppContext) => (app: ApiBase) =>
  app
    .get("/templates", async (c) => {
      await requireUser(ctx, c);
      return { templates: await enabledTemplates(ctx) };
    })
    .get("/admin/templates", async (c) => {
      await requireAdmin(ctx, c);
      return { templates: await enabledTemplates(ctx), known: KNOWN_TEMPLATES };
    })
    .put("/admin/templates", async (c) => {
      const auth = await requireAdmin(ctx, c);
      return { templates: await setEnabledTemplates(ctx, { userId: auth.userId, ip: c.ip }, c.body) };
    });
