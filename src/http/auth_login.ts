import { t } from "elysia";
import { logIn } from "../auth/login.ts";
import { toPublicUser } from "../auth/users.ts";
import type { AppContext } from "../context.ts";
import type { ApiBase } from "./api_base.ts";
import { issueTokens } from "./auth_sign_in_issue.ts";

export const authLogin = (ctx: AppContext) => (app: ApiBase) =>
  app.post(
    "/auth/login",
    async (c) => {
      const { user, session } = await logIn(
        ctx,
        { ...c.body, totpCode: c.body.totp_code },
        { ip: c.ip, userAgent: c.request.headers.get("user-agent") },
      );
      return { user: toPublicUser(user), ...(await issueTokens(ctx, c, session)) };
    },
    {
      body: t.Object({
        email: t.String({ maxLength: 320 }),
        password: t.String({ maxLength: 4096 }),
        totp_code: t.Optional(t.String({ maxLength: 40 })),
      }),
    },
  );
