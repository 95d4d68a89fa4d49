import { t } from "elysia";
import { audit } from "../audit.ts";
import { checkPassword } from "../auth/password_policy.ts";
import { hashPassword } from "../auth/passwords.ts";
import { createFamily } from "../auth/refresh_tokens.ts";
import { createUser, EmailTakenError, normaliseEmail, toPublicUser } from "../auth/users.ts";
import type { AppContext } from "../context.ts";
import type { ApiBase } from "./api_base.ts";
import { issueTokens } from "./auth_session_issue.ts";
import { ApiError } from "./errors.ts";
import { passwordWorkGuard } from "./password_work.ts";

export const authSignup = (ctx: AppContext) => (app: ApiBase) =>
  app.post(
    "/auth/signup",
    async (c) => {
      const email = normaliseEmail(c.body.email);
      if (!email) throw new ApiError(400, "invalid_email", "Enter a valid email address.");
      const problem = checkPassword(c.body.password, email);
      if (problem) throw new ApiError(400, problem.code, problem.message);
      const hash = await passwordWorkGuard(() => hashPassword(c.body.password));
      let user: Awaited<ReturnType<typeof createUser>>;
      try {
        user = await createUser(ctx.database.db, email, hash);
      } catch (error) {
        if (error instanceof EmailTakenError) {
          throw new ApiError(
            409,
            "email_taken",
            "An account with this email already exists. Sign in instead.",
          );
        }
        throw error;
      }
      const family = await createFamily(ctx.database.db, ctx.auth.keys.refreshKey, ctx.auth.policy, user.id, {
        userAgent: c.request.headers.get("user-agent"),
        ip: c.ip,
      });
      await audit(ctx.database.db, { action: "account.signup", userId: user.id, ip: c.ip });
      c.set.status = 201;
      return { user: toPublicUser(user), ...(await issueTokens(ctx, c, family)) };
    },
    { body: t.Object({ email: t.String({ maxLength: 320 }), password: t.String({ maxLength: 4096 }) }) },
  );
