import { t } from "elysia";
import { type AccountDeletionHook, deleteAccount } from "../auth/account.ts";
import { clearSignInCookies } from "../auth/cookies.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireSignIn } from "./api_base.ts";

export type { AccountDeletionHook };

/** Deleting an account needs the password; `beforeDelete` (the container kill) runs first. */
export const accountDelete =
  (ctx: AppContext, beforeDelete: AccountDeletionHook[] = []) =>
  (app: ApiBase) =>
    app.delete(
      "/account",
      async (c) => {
        const auth = await requireSignIn(ctx, c);
        await deleteAccount(ctx, { ...auth, ip: c.ip }, c.body.password, beforeDelete);
        clearSignInCookies(c.cookie);
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
