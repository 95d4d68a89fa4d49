// Failures the router or Elysia raise before any console handler runs (an unknown URL, a tampered
// cookie, a crash in a hook) would otherwise be JSON. For a browser asking for a console page they
// become the console's error page; /api, webhooks, health and static files keep their JSON.
import { ErrorPage } from "../../../views/pages/auth.tsx";
import { render } from "../../../views/render.ts";
import { accessTokenSigner } from "../../auth/access_tokens.ts";
import { verifyAccessToken } from "../../auth/cookie_sign_in.ts";
import { ACCESS_COOKIE } from "../../auth/cookies.ts";
import { csrfTokenFor } from "../../auth/csrf.ts";
import { getUser } from "../../auth/users.ts";
import type { AppContext } from "../../context.ts";

const MACHINE_PREFIXES = ["/api/", "/api", "/hooks/", "/static/", "/healthz", "/readyz", "/metrics"];

/** A browser navigating to a console path (not the API, not a script's fetch). */
export function isConsoleNavigation(request: Request): boolean {
  const path = new URL(request.url).pathname;
  if (MACHINE_PREFIXES.some((prefix) => path === prefix || path.startsWith(prefix))) return false;
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  return (request.headers.get("accept") ?? "").includes("text/html");
}

export type ConsoleErrorPage = (
  request: Request,
  status: number,
  message: string,
) => Promise<Response | null>;

const NOT_FOUND_MESSAGE = "There is no page at this address. Check the link, or go back to where you were.";

function cookieFrom(request: Request, name: string): string | null {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/**
 * Renders the error page, with the navigation when the access cookie is valid. It only reads the
 * access cookie: rotating the refresh cookie here would set cookies on an answer that is an error.
 */
export function consoleErrorPage(ctx: AppContext): ConsoleErrorPage {
  const tokens = accessTokenSigner(ctx.auth.keys.accessTokenSecret);
  return async (request, status, message) => {
    if (!isConsoleNavigation(request)) return null;
    let user = null;
    try {
      const access = cookieFrom(request, ACCESS_COOKIE);
      const signIn = access ? await verifyAccessToken(ctx, tokens, access) : null;
      const row = signIn ? await getUser(ctx.database.db, signIn.userId) : null;
      if (signIn && row) {
        user = {
          email: row.email,
          isAdmin: row.isAdmin,
          csrf: await csrfTokenFor(ctx.auth.keys.csrfKey, signIn.signInId),
        };
      }
    } catch {
      // The page must render even when the database is what failed.
    }
    const text = status === 404 ? NOT_FOUND_MESSAGE : message;
    return new Response(render(ErrorPage({ status, message: text, user })), {
      status,
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
    });
  };
}
