import { listSignIns, revokeSignIn } from "../auth/account.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

export const signInsRoutes = (ctx: AppContext) => (app: ApiBase) =>
  app
    .get("/auth/sessions", async (c) => {
      const auth = await requireUser(ctx, c);
      return { sessions: await listSignIns(ctx, { ...auth, ip: c.ip }) };
    })
    .delete("/auth/sessions/:id", async (c) => {
      const auth = await requireUser(ctx, c);
      await revokeSignIn(ctx, { ...auth, ip: c.ip }, c.params.id);
      c.set.status = 204;
      return "";
    });
