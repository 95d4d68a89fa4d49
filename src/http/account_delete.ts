import { t } from "elysia";
import { audit } from "../audit.ts";
import { clearSessionCookies } from "../auth/cookies.ts";
import { verifyPassword } from "../auth/passwords.ts";
import { deleteUser, getUser } from "../auth/users.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";
import { passwordWorkGuard } from "./password_work.ts";

export type AccountDeletionHook = (userId: string) => Promise<void>;

/**
 * Deleting an account needs the password. `beforeDelete` (the control plane's container kill) runs
 * first; the user row's deletion then cascades to sessions, credentials and the agent session.
 */
export const accountDelete =
  (ctx: AppContext, beforeDelete: AccountDeletionHook[] = []) =>
  (app: ApiBase) =>
    app.delete(
      "/account",
      async (c) => {
        const auth = await requireUser(ctx, c);
        const user = await getUser(ctx.database.db, auth.userId);
        if (!user) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
        const ok = await passwordWorkGuard(() => verifyPassword(c.body.password, user.passwordHash));
        if (!ok) throw new ApiError(403, "wrong_password", "The password is incorrect.");
        for (const hook of beforeDelete) await hook(auth.userId);
        await deleteUser(ctx.database.db, auth.userId);
        await audit(ctx.database.db, { action: "account.deleted", userId: auth.userId, ip: c.ip });
        clearSessionCookies(c.cookie);
        c.set.status = 204;
        return "";
      },
      {
        body: t.Object({
          password: t.String({ maxLength: 4096 }),
          _csrf: t.Optional(t.String({ maxLength: 200 })),
        }),
      },
    );
