// What signup, login and refresh answer: a token pair in the body (API clients) and, for a browser
// request (one that carries an Origin, already checked to be ours), the same pair as HttpOnly cookies.
import { setSignInCookies } from "../auth/cookies.ts";
import { csrfTokenFor } from "../auth/csrf.ts";
import type { AppContext } from "../context.ts";
import { ACCESS_TOKEN_SECONDS } from "./api_base.ts";

type CookieJar = Parameters<typeof setSignInCookies>[0];

export async function issueTokens(
  ctx: AppContext,
  c: {
    request: Request;
    cookie: CookieJar;
    secure: boolean;
    issueAccess: (u: string, s: string) => Promise<string>;
  },
  session: { userId: string; signInId: string; refreshToken: string },
) {
  const accessToken = await c.issueAccess(session.userId, session.signInId);
  const body: Record<string, unknown> = {
    access_token: accessToken,
    refresh_token: session.refreshToken,
    expires_in: ACCESS_TOKEN_SECONDS,
  };
  if (c.request.headers.has("origin")) {
    setSignInCookies(
      c.cookie,
      {
        accessToken,
        refreshToken: session.refreshToken,
        accessMaxAge: ACCESS_TOKEN_SECONDS,
        refreshMaxAge: Math.floor(ctx.auth.policy.absoluteMs / 1000),
      },
      c.secure,
    );
    body.csrf_token = await csrfTokenFor(ctx.auth.keys.csrfKey, session.signInId);
  }
  return body;
}
