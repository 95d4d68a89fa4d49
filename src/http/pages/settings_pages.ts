// The assistant settings page, through the same settings service as the JSON API.
import { SettingsPage, SettingsSection } from "../../../views/pages/settings.tsx";
import type { AppContext } from "../../context.ts";
import { getUserSettings, updateUserSettings } from "../../settings/user_settings.ts";
import type { PageBase } from "./page_base.ts";
import { formFailure, formFields, html, isHtmx, page, redirect } from "./page_response.ts";

export const settingsPages = (ctx: AppContext) => (app: PageBase) =>
  app
    .get(
      "/settings",
      page(ctx, { access: "user" }, async (_c, user) =>
        html(SettingsPage({ user, settings: await getUserSettings(ctx.database.db, user.id) })),
      ),
    )
    .post(
      "/settings",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        const form = formFields(c.body);
        try {
          const settings = await updateUserSettings(
            ctx.database.db,
            { userId: user.id, ip: c.ip },
            {
              default_provider: form.default_provider ?? "",
              default_model: (form.default_model ?? "").trim(),
              system_prompt: form.system_prompt ?? "",
              shell_mode: form.shell_mode ?? "ask",
            },
          );
          if (!isHtmx(c.request)) return redirect(c.request, "/settings");
          return html(SettingsSection({ settings, csrf: user.csrf, notice: "Settings saved." }));
        } catch (error) {
          const settings = await getUserSettings(ctx.database.db, user.id);
          return formFailure(ctx, c.request, user, error, (message) =>
            SettingsPage({ user, settings, error: message }),
          );
        }
      }),
    );
