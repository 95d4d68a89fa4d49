import { t } from "elysia";
import { audit } from "../audit.ts";
import { rotate } from "../auth/refresh_tokens.ts";
import type { AppContext } from "../context.ts";
import type { ApiBase } from "./api_base.ts";
import { issueTokens } from "./auth_sign_in_issue.ts";
import { ApiError } from "./errors.ts";

export const authRefresh = (ctx: AppContext) => (app: ApiBase) =>
  app.post(
    "/auth/refresh",
    async (c) => {
      const outcome = await rotate(
        ctx.database.db,
        ctx.auth.keys.refreshKey,
        ctx.auth.policy,
        c.body.refresh_token,
      );
      if (!outcome.ok) {
        if (outcome.reason === "reused") {
          const familyId = c.body.refresh_token.split(".")[0] ?? null;
          await audit(ctx.database.db, { action: "auth.refresh_reuse", target: familyId, ip: c.ip });
          ctx.log.warn("refresh token reuse: family revoked", { family: familyId, ip: c.ip });
        }
        throw new ApiError(401, "invalid_refresh_token", "This session has ended. Sign in again.");
      }
      return issueTokens(ctx, c, outcome);
    },
    { body: t.Object({ refresh_token: t.String({ maxLength: 512 }) }) },
  );
