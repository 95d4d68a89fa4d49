// The base every console page route is chained onto: the client's IP and TLS status, the origin we
// expect, and `session`, who is signed in (the console's cookies, refreshed automatically like the
// API's). The hooks are local, so they neither leak into the JSON API nor pick up its JSON errors.
import { Elysia } from "elysia";
import { accessTokenSigner } from "../../auth/access_tokens.ts";
import { signInFromCookies } from "../../auth/cookie_sign_in.ts";
import type { AppContext } from "../../context.ts";
import { requestFacts } from "../request_facts.ts";

export function createPageBase(ctx: AppContext) {
  const tokens = accessTokenSigner(ctx.auth.keys.accessTokenSecret);
  return new Elysia()
    .derive({ as: "local" }, ({ request, server }) => ({ ...requestFacts(ctx, request, server), tokens }))
    .resolve({ as: "local" }, async ({ cookie, secure }) => ({
      session: await signInFromCookies(ctx, tokens, cookie, secure),
    }));
}

export type PageBase = ReturnType<typeof createPageBase>;
