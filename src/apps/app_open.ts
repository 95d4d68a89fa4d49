// GET /apps/open?next=/path[&slug=<slug>] on the console origin: the first half of the handshake.
// The console's own cookie says who asks; the answer is a redirect to the user's app host carrying a
// 60-second single-use ticket. A slug that is not the user's own is refused here, so another user's
// app origin never gets a ticket.
import type { accessTokenSigner } from "../auth/access_tokens.ts";
import { verifyAccessToken } from "../auth/cookie_sign_in.ts";
import { ACCESS_COOKIE } from "../auth/cookies.ts";
import type { AppContext } from "../context.ts";
import { ensureSlug } from "../hooks/hook_secrets.ts";
import { safeNext } from "./app_host.ts";
import { signGrant } from "./app_tokens.ts";

export const APP_OPEN_PATH = "/apps/open";
export const APP_AUTH_PATH = "/__clawfleet/auth";

type Signer = ReturnType<typeof accessTokenSigner>;

export function cookieFrom(header: string | null, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=") || null;
  }
  return null;
}

/** `<scheme>://<slug>.<apps domain>[:port]`, scheme and port those of the public URL. */
export function appOrigin(publicUrl: string, appsDomain: string, slug: string): string {
  const url = new URL(publicUrl);
  return `${url.protocol}//${slug}.${appsDomain}${url.port ? `:${url.port}` : ""}`;
}

function page(status: number, message: string): Response {
  const body = `<!doctype html><meta charset="utf-8"><title>clawfleet</title><p>${message}</p>`;
  return new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8" } });
}

export function createAppOpenHandler(ctx: AppContext, tokens: Signer, appsDomain: string, publicUrl: string) {
  return async function openApp(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const next = safeNext(url.searchParams.get("next"));
    const token = cookieFrom(request.headers.get("cookie"), ACCESS_COOKIE);
    const signedIn = token ? await verifyAccessToken(ctx, tokens, token) : null;
    if (!signedIn) return new Response(null, { status: 303, headers: { location: "/login" } });
    const slug = await ensureSlug(ctx.database.db, signedIn.userId);
    const asked = url.searchParams.get("slug");
    if (asked !== null && asked !== slug) return page(403, "This app belongs to another account.");
    const ticket = await signGrant(ctx.auth.keys.accessTokenSecret, {
      kind: "ticket",
      userId: signedIn.userId,
      authSessionId: signedIn.signInId,
      slug,
    });
    const target = new URL(`${appOrigin(publicUrl, appsDomain, slug)}${APP_AUTH_PATH}`);
    target.searchParams.set("ticket", ticket);
    target.searchParams.set("next", next);
    return new Response(null, {
      status: 303,
      headers: { location: target.toString(), "cache-control": "no-store", "referrer-policy": "no-referrer" },
    });
  };
}
