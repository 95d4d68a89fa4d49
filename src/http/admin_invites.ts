// Admin API for invite links: POST mints one (the token and link are in this answer only), GET lists
// them (never a token), DELETE revokes a pending one. The console and `clawfleet invites` do the same.
import { t } from "elysia";
import { createInvite, inviteUrl, listInvites, revokeInvite } from "../auth/invites.ts";
import type { AppContext } from "../context.ts";
import { requireAdmin } from "./admin.ts";
import type { ApiBase } from "./api_base.ts";
import { ApiError } from "./errors.ts";

export const adminInvitesRoutes = (ctx: AppContext) => (app: ApiBase) =>
  app
    .post(
      "/admin/invites",
      async (c) => {
        const auth = await requireAdmin(ctx, c);
        const invite = await createInvite(
          ctx.database.db,
          { email: c.body?.email ?? null, expiresInDays: c.body?.expires_in_days },
          { userId: auth.userId, ip: c.ip, via: "api" },
        );
        c.set.status = 201;
        return { ...invite, url: inviteUrl(ctx.config.publicUrl ?? c.origin, invite.token) };
      },
      {
        body: t.Optional(
          t.Object({
            email: t.Optional(t.String({ maxLength: 320 })),
            expires_in_days: t.Optional(t.Integer({ minimum: 1, maximum: 90 })),
            _csrf: t.Optional(t.String({ maxLength: 200 })),
          }),
        ),
      },
    )
    .get("/admin/invites", async (c) => {
      await requireAdmin(ctx, c);
      return { invites: await listInvites(ctx.database.db) };
    })
    .delete("/admin/invites/:id", async (c) => {
      const auth = await requireAdmin(ctx, c);
      if (
        !(await revokeInvite(ctx.database.db, c.params.id, { userId: auth.userId, ip: c.ip, via: "api" }))
      ) {
        throw new ApiError(404, "not_found", "No pending invite with this id.");
      }
      c.set.status = 204;
      return "";
    });
