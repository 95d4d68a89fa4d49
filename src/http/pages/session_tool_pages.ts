// Chat and terminal pages, and /console/session: what their scripts ask before (re)connecting a
// WebSocket. Being a console route it passes through the automatic refresh, so the browser holds a
// fresh access cookie when the socket's upgrade request goes out.

import { ChatPage, TerminalPage } from "../../../views/pages/session_tools.tsx";
import type { AppContext } from "../../context.ts";
import { listCredentials } from "../../secrets/credentials.ts";
import { getUserSettings } from "../../settings/user_settings.ts";
import { sessionView } from "../session.ts";
import type { PageBase } from "./page_base.ts";
import { html, page } from "./page_response.ts";

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

export const sessionToolPages = (ctx: AppContext) => (app: PageBase) =>
  app
    .get(
      "/chat",
      page(ctx, { access: "user" }, async (_c, user) => {
        const [view, settings, keys] = await Promise.all([
          sessionView(ctx, user.id),
          getUserSettings(ctx.database.db, user.id),
          listCredentials(ctx.database.db, user.id),
        ]);
        return html(
          ChatPage({
            user,
            state: view.state,
            hasKey: keys.length > 0,
            settings: {
              // The server's provider name for Gemini is "google"; the runtime accepts both.
              default_provider: settings.default_provider,
              default_model: settings.default_model,
              system_prompt: settings.system_prompt || null,
              shell_mode: settings.shell_mode,
            },
          }),
        );
      }),
    )
    .get(
      "/terminal",
      page(ctx, { access: "user" }, async (_c, user) =>
        html(TerminalPage({ user, state: (await sessionView(ctx, user.id)).state })),
      ),
    )
    .get("/console/session", async (c) => {
      if (!c.session) return json(401, { signed_in: false });
      try {
        const view = await sessionView(ctx, c.session.userId);
        return json(200, { signed_in: true, state: view.state, progress: view.progress });
      } catch (error) {
        ctx.log.warn("console session check failed", { error });
        return json(503, { signed_in: true, state: "unknown" });
      }
    });
