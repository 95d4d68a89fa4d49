import { and, desc, gt, isNull } from "drizzle-orm";
import { audit } from "../audit.ts";
import { revokeFamily } from "../auth/refresh_tokens.ts";
import type { AppContext } from "../context.ts";
import { asUser, isUuid } from "../db/rls.ts";
import { authSessions } from "../db/schema.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";

export const authSessionsRoutes = (ctx: AppContext) => (app: ApiBase) =>
  app
    .get("/auth/sessions", async (c) => {
      const auth = await requireUser(ctx, c);
      const idleCutoff = new Date(Date.now() - ctx.auth.policy.idleMs);
      const rows = await asUser(ctx.database.db, auth.userId, (tx) =>
        tx
          .select()
          .from(authSessions)
          .where(
            and(
              isNull(authSessions.revokedAt),
              gt(authSessions.expiresAt, new Date()),
              gt(authSessions.lastUsedAt, idleCutoff),
            ),
          )
          .orderBy(desc(authSessions.lastUsedAt)),
      );
      return {
        sessions: rows.map((row) => ({
          id: row.id,
          created_at: row.createdAt.toISOString(),
          last_used_at: row.lastUsedAt.toISOString(),
          expires_at: row.expiresAt.toISOString(),
          user_agent: row.userAgent,
          ip: row.ip,
          current: row.id === auth.sessionId,
        })),
      };
    })
    .delete("/auth/sessions/:id", async (c) => {
      const auth = await requireUser(ctx, c);
      const id = c.params.id;
      const revoked = isUuid(id)
        ? await revokeFamily(ctx.database.db, auth.userId, id, "revoked by user")
        : [];
      if (revoked.length === 0) throw new ApiError(404, "not_found", "No such session.");
      await audit(ctx.database.db, {
        action: "auth.session_revoked",
        userId: auth.userId,
        target: id,
        ip: c.ip,
      });
      c.set.status = 204;
      return "";
    });
