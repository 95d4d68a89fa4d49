import { audit } from "../audit.ts";
import { clearSessionCookies } from "../auth/cookies.ts";
import { revokeFamily } from "../auth/refresh_tokens.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

export const authLogout = (ctx: AppContext) => (app: ApiBase) =>
  app.post("/auth/logout", async (c) => {
    const auth = await requireUser(ctx, c);
    await revokeFamily(ctx.database.db, auth.userId, auth.sessionId, "logout");
    await audit(ctx.database.db, {
      action: "auth.logout",
      userId: auth.userId,
      target: auth.sessionId,
      ip: c.ip,
    });
    clearSessionCookies(c.cookie);
    c.set.status = 204;
    return "";
  });
