// /admin/templates: the console's side of PUT /api/v1/admin/templates, through the same service.
import { AdminTemplatesPage, TemplatesSection } from "../../../views/pages/admin_templates.tsx";
import type { AppContext } from "../../context.ts";
import { enabledTemplates, KNOWN_TEMPLATES, setEnabledTemplates } from "../../settings/user_templates.ts";
import type { PageBase } from "./page_base.ts";
import { formFailure, formFields, html, isHtmx, page, redirect } from "./page_response.ts";

const FIELD = /^template_(.+)$/;

export const adminTemplatesPages = (ctx: AppContext) => (app: PageBase) =>
  app
    .get(
      "/admin/templates",
      page(ctx, { access: "admin" }, async (_c, user) =>
        html(AdminTemplatesPage({ user, known: KNOWN_TEMPLATES, enabled: await enabledTemplates(ctx) })),
      ),
    )
    .post(
      "/admin/templates",
      page(ctx, { access: "admin", mutation: true }, async (c, user) => {
        const form = formFields(c.body);
        const chosen = Object.keys(form)
          .map((name) => FIELD.exec(name)?.[1])
          .filter((name): name is string => Boolean(name));
        try {
          const enabled = await setEnabledTemplates(
            ctx,
            { userId: user.id, ip: c.ip },
            { templates: chosen },
          );
          if (!isHtmx(c.request)) return redirect(c.request, "/admin/templates");
          return html(
            TemplatesSection({ csrf: user.csrf, known: KNOWN_TEMPLATES, enabled, notice: "Saved." }),
          );
        } catch (error) {
          const enabled = await enabledTemplates(ctx);
          return formFailure(ctx, c.request, user, error, (message) =>
            isHtmx(c.request)
              ? TemplatesSection({ csrf: user.csrf, known: KNOWN_TEMPLATES, enabled, error: message })
              : AdminTemplatesPage({ user, known: KNOWN_TEMPLATES, enabled, error: message }),
          );
        }
      }),
    );
