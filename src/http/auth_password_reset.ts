import { t } from "elysia";
import { confirmPasswordReset, requestPasswordReset } from "../auth/password_reset.ts";
import type { AppContext } from "../context.ts";
import type { ApiBase } from "./api_base.ts";

const meta = (c: { ip: string; request: Request }) => ({
  ip: c.ip,
  userAgent: c.request.headers.get("user-agent"),
});

export const RESET_REQUESTED = "If an account uses this address, a reset link is on its way.";

export const authPasswordReset = (ctx: AppContext) => (app: ApiBase) =>
  app
    .post(
      "/auth/password-reset",
      async (c) => {
        await requestPasswordReset(ctx, c.body.email, meta(c));
        c.set.status = 202;
        return { message: RESET_REQUESTED };
      },
      { body: t.Object({ email: t.String({ maxLength: 320 }) }) },
    )
    .post(
      "/auth/password-reset/confirm",
      async (c) => {
        await confirmPasswordReset(ctx, { token: c.body.token, newPassword: c.body.new_password }, meta(c));
        c.set.status = 204;
        return "";
      },
      {
        body: t.Object({ token: t.String({ maxLength: 100 }), new_password: t.String({ maxLength: 4096 }) }),
      },
    );
