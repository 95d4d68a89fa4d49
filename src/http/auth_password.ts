import { t } from "elysia";
import { audit } from "../audit.ts";
import { checkPassword } from "../auth/password_policy.ts";
import { hashPassword, verifyPassword } from "../auth/passwords.ts";
import { revokeOtherFamilies } from "../auth/refresh_tokens.ts";
import { getUser, updatePasswordHash } from "../auth/users.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";
import { passwordWorkGuard } from "./password_work.ts";

export const authPassword = (ctx: AppContext) => (app: ApiBase) =>
  app.post(
    "/auth/password",
    async (c) => {
      const auth = await requireUser(ctx, c);
      const user = await getUser(ctx.database.db, auth.userId);
      if (!user) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
      const ok = await passwordWorkGuard(() => verifyPassword(c.body.current_password, user.passwordHash));
      if (!ok) throw new ApiError(403, "wrong_password", "The current password is incorrect.");
      const problem = checkPassword(c.body.new_password, user.email);
      if (problem) throw new ApiError(400, problem.code, problem.message);
      const hash = await passwordWorkGuard(() => hashPassword(c.body.new_password));
      await updatePasswordHash(ctx.database.db, auth.userId, hash, true);
      await revokeOtherFamilies(ctx.database.db, auth.userId, auth.sessionId, "password changed");
      await audit(ctx.database.db, { action: "auth.password_changed", userId: auth.userId, ip: c.ip });
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
