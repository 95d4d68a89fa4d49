// The base every /api/v1 route is chained onto: JWT signing, the request's client IP and TLS status,
// the Origin check, and `auth` — who is calling (Bearer token, or the console's cookies with automatic
// refresh). Routes that need a user call `requireUser`, which also enforces CSRF and the plan's rate,
// and checks a Bearer access token's sign-in in the same statement that counts the request.

import { Elysia } from "elysia";
import { ACCESS_TOKEN_SECONDS, accessTokenSigner } from "../auth/access_tokens.ts";
import { type SignIn, signInFromCookies, verifyAccessToken } from "../auth/cookie_sign_in.ts";
import { CSRF_HEADER, csrfTokenValid, isSafeMethod, originAllowed } from "../auth/csrf.ts";
import { PERSONAL_TOKEN_PREFIX, verifyPersonalToken } from "../auth/personal_tokens.ts";
import type { AppContext } from "../context.ts";
import type { SessionView } from "../sessions/sessions_repo.ts";
import { ApiError } from "./errors.ts";
import { countApiCall } from "./rate_limit.ts";
import { requestFacts } from "./request_facts.ts";

export { ACCESS_TOKEN_SECONDS };

/** `token`: a personal access token, whose id stands in signInId (it belongs to no sign-in). */
export type Auth = { userId: string; signInId: string; via: "bearer" | "cookie" | "token" };

export function createApiBase(ctx: AppContext) {
  const tokens = accessTokenSigner(ctx.auth.keys.accessTokenSecret);
  return new Elysia({ prefix: "/api/v1" })
    .use(tokens.plugin)
    .derive({ as: "scoped" }, ({ request, server }) => requestFacts(ctx, request, server))
    .onBeforeHandle({ as: "scoped" }, ({ request, origin }) => {
      if (!originAllowed(request, origin, request.headers.has("cookie"))) {
        throw new ApiError(403, "bad_origin", "Cross-site requests are not allowed.");
      }
    })
    .resolve({ as: "scoped" }, async ({ request, cookie, secure }) => {
      const issueAccess = tokens.sign;
      // `auth` is a caller already checked against the database. A Bearer access token is only
      // verified here (its signature and expiry, no database): `claimed` holds it, and requireUser
      // checks its sign-in in the same statement that counts the request (src/http/rate_limit.ts).
      let auth: Auth | null = null;
      let claimed: SignIn | null = null;
      const header = request.headers.get("authorization");
      if (header?.startsWith("Bearer ")) {
        const token = header.slice(7).trim();
        if (token.startsWith(PERSONAL_TOKEN_PREFIX)) auth = await bearerAuth(ctx, tokens, token);
        else claimed = await tokens.verify(token);
      } else {
        const found = await signInFromCookies(ctx, tokens, cookie, secure);
        auth = found && { ...found, via: "cookie" };
      }
      return { auth, claimed, issueAccess };
    });
}

export type ApiBase = ReturnType<typeof createApiBase>;

/** A valid access token whose sign-in (refresh family) is still active. */
export const verifyAccess = verifyAccessToken;

/**
 * A Bearer token: a personal access token (`cfp_…`, whose id stands in for the sign-in) or a sign-in's
 * access token. The API and the session WebSockets both authenticate through this.
 */
export async function bearerAuth(
  ctx: AppContext,
  tokens: ReturnType<typeof accessTokenSigner>,
  token: string,
): Promise<Auth | null> {
  if (token.startsWith(PERSONAL_TOKEN_PREFIX)) {
    const found = await verifyPersonalToken(ctx, token);
    return found && { userId: found.userId, signInId: found.tokenId, via: "token" };
  }
  const found = await verifyAccess(ctx, tokens, token);
  return found && { ...found, via: "bearer" };
}

type Caller = {
  auth: Auth | null;
  claimed?: SignIn | null;
  request: Request;
  body?: unknown;
  set?: { headers: unknown };
};

/** The signed-in user, or 401. Cookie-authenticated mutations must also carry the CSRF token. */
export async function requireUser(ctx: AppContext, c: Caller): Promise<Auth> {
  return (await authorize(ctx, c, false)).auth;
}

/** requireUser, and what GET /api/v1/session shows, read in the same statement (one round trip). */
export async function requireUserWithSession(
  ctx: AppContext,
  c: Caller,
): Promise<{ auth: Auth; view: SessionView | null }> {
  return authorize(ctx, c, true);
}

async function authorize(ctx: AppContext, c: Caller, readSession: boolean) {
  const { request } = c;
  const auth: Auth | null = c.auth ?? (c.claimed ? { ...c.claimed, via: "bearer" } : null);
  if (!auth) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
  if (auth.via === "cookie" && !isSafeMethod(request.method)) {
    const fromBody =
      c.body && typeof c.body === "object" && "_csrf" in c.body
        ? String((c.body as { _csrf: unknown })._csrf)
        : null;
    const presented = request.headers.get(CSRF_HEADER) ?? fromBody;
    if (!(await csrfTokenValid(ctx.auth.keys.csrfKey, auth.signInId, presented))) {
      throw new ApiError(403, "csrf_failed", "The form expired. Reload the page and try again.");
    }
  }
  const counted = await countApiCall(ctx, {
    userId: auth.userId,
    signInToCheck: c.auth ? null : auth.signInId,
    readSession,
  });
  if (!counted) throw new ApiError(401, "unauthenticated", "Sign in to continue.");
  if (c.set) Object.assign(c.set.headers as Record<string, string>, counted.rate);
  return { auth, view: counted.view };
}

/**
 * A user signed in with their password (cookie or access token): what managing passwords, two-factor
 * and tokens needs. A personal access token is refused, so a leaked script token cannot take over.
 */
export async function requireSignIn(ctx: AppContext, c: Caller): Promise<Auth> {
  const auth = await requireUser(ctx, c);
  if (auth.via === "token") {
    throw new ApiError(403, "sign_in_required", "Personal access tokens cannot do this. Sign in instead.");
  }
  return auth;
}
