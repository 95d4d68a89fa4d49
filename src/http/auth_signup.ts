import { t } from "elysia";
import { signUp } from "../auth/signup.ts";
import { toPublicUser } from "../auth/users.ts";
import type { AppContext } from "../context.ts";
import type { ApiBase } from "./api_base.ts";
import { issueTokens } from "./auth_sign_in_issue.ts";

export const authSignup = (ctx: AppContext) => (app: ApiBase) =>
  app.post(
    "/auth/signup",
    async (c) => {
      const { user, session } = await signUp(ctx, c.body, {
        ip: c.ip,
        userAgent: c.request.headers.get("user-agent"),
      });
      c.set.status = 201;
      return { user: toPublicUser(user), ...(await issueTokens(ctx, c, session)) };
    },
    {
      body: t.Object({
        email: t.String({ maxLength: 320 }),
        password: t.String({ maxLength: 4096 }),
        invite: t.Optional(t.String({ maxLength: 100 })),
      }),
    },
  );
