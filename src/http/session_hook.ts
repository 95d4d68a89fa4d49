// GET /api/v1/session/hook: the session's webhook slug (never the secret);
// POST /api/v1/session/hook/rotate: a new secret, shown once in the answer. The URL to give a
// channel is `<public url>/hooks/<slug>/<secret>/<path>`.
import type { AppContext } from "../context.ts";
import { getHookAddress, rotateHookSecret } from "../hooks/hook_secrets.ts";
import { type ApiBase, requireUser } from "./api_base.ts";

function hookBase(ctx: AppContext, slug: string): string {
  const origin = ctx.config.publicUrl?.replace(/\/$/, "") ?? "";
  return `${origin}/hooks/${slug}`;
}

export const sessionHookRoutes = (ctx: AppContext) => (app: ApiBase) =>
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
      c.set.status = 201;
      c.set.headers["cache-control"] = "no-store";
      return { slug, secret, url: `${hookBase(ctx, slug)}/${secret}` };
    });
