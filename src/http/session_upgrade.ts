// POST /api/v1/session/upgrade: the container is recreated on the newest image of its template with
// the same volume (src/sessions/upgrade.ts); answers 202 with the session, as the other actions do.
// GET says whether that would change anything: `{available}`, true when the template's image tag now
// names another image than the container runs (the console offers the upgrade then).
import type { AppContext } from "../context.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { sessionView } from "./session.ts";

export const sessionUpgradeRoutes = (ctx: AppContext, lifecycle: Lifecycle) => (app: ApiBase) =>
  app
    .get("/session/upgrade", async (c) => {
      const auth = await requireUser(ctx, c);
      return { available: await lifecycle.upgradeAvailable(auth.userId) };
    })
    .post("/session/upgrade", async (c) => {
      const auth = await requireUser(ctx, c);
      await lifecycle.upgrade(auth.userId, c.ip);
      c.set.status = 202;
      return sessionView(ctx, auth.userId);
    });
