import { t } from "elysia";
import { confirmEmail, resendVerification } from "../auth/email_verification.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

export const authVerifyEmail = (ctx: AppContext) => (app: ApiBase) =>
  app
    .post(
      "/auth/verify-email/confirm",
      async (c) => {
        await confirmEmail(ctx, c.body.token, c.ip);
        c.set.status = 204;
        return "";
      },
      { body: t.Object({ token: t.String({ maxLength: 100 }) }) },
    )
    .post("/auth/verify-email/resend", async (c) => {
      const auth = await requireUser(ctx, c);
      await resendVerification(ctx, auth.userId);
      c.set.status = 202;
      return { message: "A new confirmation link is on its way." };
    });
