import { t } from "elysia";
import { changePassword } from "../auth/account.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

export const authPassword = (ctx: AppContext) => (app: ApiBase) =>
  app.post(
    "/auth/password",
    async (c) => {
      const auth = await requireUser(ctx, c);
      await changePassword(
        ctx,
        { ...auth, ip: c.ip },
        { currentPassword: c.body.current_password, newPassword: c.body.new_password },
      );
      c.set.status = 204;
      return "";
    },
    {
      body: t.Object({
        current_password: t.String({ maxLength: 4096 }),
        new_password: t.String({ maxLength: 4096 }),
        _csrf: t.Optional(t.String({ maxLength: 200 })),
      }),
    },
  );
