// CSRF defence for cookie-authenticated requests, in three layers: SameSite cookies, an Origin check on
// every state-changing browser request, and a per-session token (HMAC of the session id, so nothing
// is stored) that must come back in the X-CSRF-Token header or a `_csrf` form field.
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { constantTimeEqual, hmacSha256 } from "../../common/crypto.ts";

export const CSRF_HEADER = "x-csrf-token";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function isSafeMethod(method: string): boolean {
  return SAFE.has(method.toUpperCase());
}

export async function csrfTokenFor(key: CryptoKey, signInId: string): Promise<string> {
  return encodeBase64urlNoPadding(await hmacSha256(key, `csrf|${signInId}`));
}

export async function csrfTokenValid(
  key: CryptoKey,
  signInId: string,
  presented: string | null,
): Promise<boolean> {
  if (!presented) return false;
  const expected = await csrfTokenFor(key, signInId);
  return constantTimeEqual(presented, expected);
}

/** The origin this server is reached at: CLAWFLEET_PUBLIC_URL when set, else the request's own. */
export function expectedOrigin(request: Request, publicUrl: string | null, secure: boolean): string {
  if (publicUrl) return new URL(publicUrl).origin;
  const host = request.headers.get("host") ?? new URL(request.url).host;
  return `${secure ? "https" : "http"}://${host}`;
}

/**
 * A state-changing request from a browser must come from our own origin. Browsers always send Origin
 * on such requests; a request with cookies or a form body and no Origin is refused too.
 */
export function originAllowed(request: Request, expected: string, hasCookies: boolean): boolean {
  if (isSafeMethod(request.method)) return true;
  const origin = request.headers.get("origin");
  if (origin) return origin === expected;
  const type = request.headers.get("content-type") ?? "";
  const formLike = /application\/x-www-form-urlencoded|multipart\/form-data|text\/plain/i.test(type);
  return !hasCookies && !formLike;
}
