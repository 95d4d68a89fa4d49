// Who a browser request belongs to, from the console's cookies, shared by the JSON API and the console
// pages: a valid access cookie, or else (the automatic refresh) a refresh cookie that is rotated on
// the spot, with new cookies set on the response. A dead refresh cookie is cleared.
import type { AppContext } from "../context.ts";
import { ACCESS_TOKEN_SECONDS, type accessTokenSigner } from "./access_tokens.ts";
import {
  ACCESS_COOKIE,
  clearSignInCookies,
  cookieValue,
  REFRESH_COOKIE,
  setSignInCookies,
} from "./cookies.ts";
import { isFamilyActive, rotate } from "./refresh_tokens.ts";

type Signer = ReturnType<typeof accessTokenSigner>;
type CookieJar = Parameters<typeof setSignInCookies>[0];
export type SignIn = { userId: string; signInId: string };

/** A valid access token whose sign-in (refresh family) is still active. */
export async function verifyAccessToken(
  ctx: AppContext,
  tokens: Signer,
  token: string,
): Promise<SignIn | null> {
  const found = await tokens.verify(token);
  if (!found) return null;
  return (await isFamilyActive(ctx.database.db, found.userId, found.signInId, ctx.auth.policy))
    ? found
    : null;
}

/** Sets both session cookies for a freshly issued or rotated session. */
export async function setConsoleCookies(
  ctx: AppContext,
  tokens: Signer,
  cookie: CookieJar,
  session: SignIn & { refreshToken: string },
  secure: boolean,
): Promise<string> {
  const accessToken = await tokens.sign(session.userId, session.signInId);
  setSignInCookies(
    cookie,
    {
      accessToken,
      refreshToken: session.refreshToken,
      accessMaxAge: ACCESS_TOKEN_SECONDS,
      refreshMaxAge: Math.floor(ctx.auth.policy.absoluteMs / 1000),
    },
    secure,
  );
  return accessToken;
}

export async function signInFromCookies(
  ctx: AppContext,
  tokens: Signer,
  cookie: CookieJar,
  secure: boolean,
): Promise<SignIn | null> {
  const access = cookieValue(cookie, ACCESS_COOKIE);
  const found = access ? await verifyAccessToken(ctx, tokens, access) : null;
  if (found) return found;
  const refresh = cookieValue(cookie, REFRESH_COOKIE);
  if (!refresh) return null;
  const outcome = await rotate(ctx.database.db, ctx.auth.keys.refreshKey, ctx.auth.policy, refresh);
  if (!outcome.ok) {
    clearSignInCookies(cookie);
    return null;
  }
  await setConsoleCookies(ctx, tokens, cookie, outcome, secure);
  return { userId: outcome.userId, signInId: outcome.signInId };
}
