import { t } from "elysia";
import { audit } from "../audit.ts";
import { checkLogin, recordLogin } from "../auth/login_throttle.ts";
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from "../auth/passwords.ts";
import { createFamily } from "../auth/refresh_tokens.ts";
import { findUserByEmail, normaliseEmail, toPublicUser, updatePasswordHash } from "../auth/users.ts";
import type { AppContext } from "../context.ts";
import type { ApiBase } from "./api_base.ts";
import { issueTokens } from "./auth_session_issue.ts";
import { ApiError } from "./errors.ts";
import { passwordWorkGuard } from "./password_work.ts";

// One answer for an unknown email and a wrong password, after the same argon2 work.
const INVALID = () => new ApiError(401, "invalid_credentials", "The email or password is incorrect.");

export const authLogin = (ctx: AppContext) => (app: ApiBase) =>
  app.post(
    "/auth/login",
    async (c) => {
      const email = normaliseEmail(c.body.email) ?? c.body.email.trim().toLowerCase().slice(0, 320);
      const verdict = await checkLogin(ctx.database.db, email, c.ip);
      if (!verdict.allowed) {
        throw new ApiError(
          429,
          "too_many_attempts",
          "Too many sign-in attempts. Wait a moment and try again.",
          {
            "retry-after": String(verdict.retryAfterSeconds),
          },
        );
      }
      const user = await findUserByEmail(ctx.database.db, email);
      const ok = await passwordWorkGuard(async () =>
        verifyPassword(c.body.password, user?.passwordHash ?? (await dummyPasswordHash())),
      );
      await recordLogin(ctx.database.db, email, c.ip, Boolean(user && ok));
      if (!user || !ok) throw INVALID();
      if (needsRehash(user.passwordHash)) {
        await updatePasswordHash(ctx.database.db, user.id, await hashPassword(c.body.password), false);
      }
      const family = await createFamily(ctx.database.db, ctx.auth.keys.refreshKey, ctx.auth.policy, user.id, {
        userAgent: c.request.headers.get("user-agent"),
        ip: c.ip,
      });
      await audit(ctx.database.db, {
        action: "auth.login",
        userId: user.id,
        target: family.sessionId,
        ip: c.ip,
      });
      return { user: toPublicUser(user), ...(await issueTokens(ctx, c, family)) };
    },
    { body: t.Object({ email: t.String({ maxLength: 320 }), password: t.String({ maxLength: 4096 }) }) },
  );
