// The console's session cookies. All HttpOnly; Secure whenever the request arrived over HTTPS.
// The access cookie expires with its token, so an expired one is simply absent and the refresh cookie
// takes over; the refresh cookie is SameSite=Strict because it is the long-lived one.
export const ACCESS_COOKIE = "cf_access";
export const REFRESH_COOKIE = "cf_refresh";

type CookieJar = Record<
  string,
  { value?: unknown; set(opts: Record<string, unknown>): unknown; remove(): unknown } | undefined
>;

export function setSignInCookies(
  cookie: CookieJar,
  tokens: { accessToken: string; refreshToken: string; accessMaxAge: number; refreshMaxAge: number },
  secure: boolean,
) {
  const base = { httpOnly: true, secure, path: "/" };
  cookie[ACCESS_COOKIE]?.set({
    ...base,
    value: tokens.accessToken,
    sameSite: "lax",
    maxAge: tokens.accessMaxAge,
  });
  cookie[REFRESH_COOKIE]?.set({
    ...base,
    value: tokens.refreshToken,
    sameSite: "strict",
    maxAge: tokens.refreshMaxAge,
  });
}

export function clearSignInCookies(cookie: CookieJar) {
  for (const name of [ACCESS_COOKIE, REFRESH_COOKIE]) {
    if (cookie[name]?.value) cookie[name]?.set({ value: "", path: "/", maxAge: 0, httpOnly: true });
  }
}

export function cookieValue(cookie: CookieJar, name: string): string | null {
  const value = cookie[name]?.value;
  return typeof value === "string" && value !== "" ? value : null;
}
