// GET /api/v1/session/hook: the session's webhook slug (never the secret);
// POST /api/v1/session/hook/rotate: a new secret, shown once in the answer. The URL to give a
// channel is `<public url>/hooks/<slug>/<secret>/<path>`. The container's channels are moved to the
// new address in the background; a failure to tell the container does not undo the rotation.
import { ChannelService } from "../channels/channel_service.ts";
import type { AppContext } from "../context.ts";
import { getHookAddress, rotateHookSecret } from "../hooks/hook_secrets.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

function hookBase(ctx: AppContext, slug: string): string {
  const origin = ctx.config.publicUrl?.replace(/\/$/, "") ?? "";
  return `${origin}/hooks/${slug}`;
}

export const sessionHookRoutes = (ctx: AppContext, lifecycle: Lifecycle) => {
  const channels = new ChannelService(ctx, lifecycle);
  return (app: ApiBase) =>
    app
      .get("/session/hook", async (c) => {
        const auth = await requireUser(ctx, c);
        const address = await getHookAddress(ctx.database.db, auth.userId);
        return address
          ? { configured: true, slug: address.slug, rotated_at: address.rotatedAt.toISOString() }
          : { configured: false, slug: null, rotated_at: null };
      })
      .post("/session/hook/rotate", async (c) => {
        const auth = await requireUser(ctx, c);
        const { slug, secret } = await rotateHookSecret(ctx.database.db, auth.userId, c.ip);
        // In the background: telling the container may wake it, and the rotation stands either way.
        void channels
          .moveHookAddress(auth.userId, c.ip, slug, secret)
          .then(
            (moved) => moved && ctx.log.info("channels moved to the new hook address", { user: auth.userId }),
          )
          .catch((error) => {
            // Logged by its code only: the error never holds the address, and must not start to.
            ctx.log.warn("channels not moved to the new hook address", {
              code: error instanceof Error && "code" in error ? String(error.code) : "unknown",
            });
          });
        c.set.status = 201;
        c.set.headers["cache-control"] = "no-store";
        return { slug, secret, url: `${hookBase(ctx, slug)}/${secret}` };
      });
};
