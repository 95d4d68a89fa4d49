import { logOut } from "../auth/account.ts";
import { clearSignInCookies } from "../auth/cookies.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

export const authLogout = (ctx: AppContext) => (app: ApiBase) =>
  app.post("/auth/logout", async (c) => {
    const auth = await requireUser(ctx, c);
    await logOut(ctx, { ...auth, ip: c.ip });
    clearSignInCookies(c.cookie);
    c.set.status = 204;
    return "";
  });
