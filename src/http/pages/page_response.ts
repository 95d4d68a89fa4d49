// How every console route answers: HTML (a whole page, or for htmx a fragment), redirects that work
// with and without htmx, and failures turned into a friendly message, never JSON or a stack trace.
// `page()` wraps a handler with the checks its access level needs (signed in, admin, same origin,
// CSRF token, the plan's request rate for actions) and catches whatever it throws.

import type { ConsoleUser } from "../../../views/layout.tsx";
import { ErrorPage } from "../../../views/pages/auth.tsx";
import { render } from "../../../views/render.ts";
import type { accessTokenSigner } from "../../auth/access_tokens.ts";
import { assertAdmin } from "../../auth/admin_guard.ts";
import type { SignIn } from "../../auth/cookie_sign_in.ts";
import { CSRF_HEADER, csrfTokenFor, csrfTokenValid } from "../../auth/csrf.ts";
import { getUser } from "../../auth/users.ts";
import type { AppContext } from "../../context.ts";
import { UserError } from "../../errors.ts";
import { plainHttpWarningFor } from "../../tls/plain_http_warning.ts";
import { enforceApiRate } from "../rate_limit.ts";
import { pageOriginAllowed } from "./page_origin.ts";
import { endedSignInReason } from "./sign_in_ended.ts";

/** What a page handler gets from Elysia (the page base's derive and resolve included). */
export type PageRequest = {
  request: Request;
  cookie: Record<
    string,
    { value?: unknown; set(opts: Record<string, unknown>): unknown; remove(): unknown } | undefined
  >;
  ip: string;
  secure: boolean;
  origin: string;
  session: SignIn | null;
  tokens: ReturnType<typeof accessTokenSigner>;
  body: unknown;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
};

export type SignedInUser = ConsoleUser & { id: string; signInId: string };

/** A refusal whose message is meant for the person in front of the page. */
export class PageError extends UserError {
  constructor(status: number, message: string) {
    super(status, "page_error", message);
  }
}

const BASE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  vary: "HX-Request, Cookie",
};

export function isHtmx(request: Request): boolean {
  return request.headers.get("hx-request") === "true";
}

export async function html(
  body: JSX.Element | Promise<JSX.Element>,
  status = 200,
  headers: Record<string, string> = {},
): Promise<Response> {
  return new Response(render(await body), { status, headers: { ...BASE_HEADERS, ...headers } });
}

/** After a form: htmx follows HX-Redirect; a plain browser form gets 303 See Other. */
export function redirect(request: Request, location: string): Response {
  if (isHtmx(request)) return new Response(null, { status: 204, headers: { "hx-redirect": location } });
  return new Response(null, { status: 303, headers: { location, "cache-control": "no-store" } });
}

/** The text fields of an urlencoded or multipart form (a repeated field keeps its first value). */
export function formFields(body: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!body || typeof body !== "object") return fields;
  for (const [name, value] of Object.entries(body)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === "string") fields[name] = first;
  }
  return fields;
}

/** The one place a UserError becomes words on a page (the API's JSON is src/http/errors.ts). */
function friendly(error: unknown): { status: number; message: string } | null {
  if (!(error instanceof UserError)) return null;
  const wait = error.status === 429 && error.retryAfterSeconds ? ` (about ${error.retryAfterSeconds} s)` : "";
  return { status: error.status, message: `${error.message}${wait}` };
}

/** The fragment (htmx) or page (plain browser) for a failure. */
export function errorResponse(
  ctx: AppContext,
  request: Request,
  user: ConsoleUser | null,
  error: unknown,
): Promise<Response> {
  let known = friendly(error);
  if (!known) {
    ctx.log.error("console page failed", { error, path: new URL(request.url).pathname });
    known = { status: 500, message: "Something went wrong on our side. Please try again in a moment." };
  }
  const headers: Record<string, string> = error instanceof UserError ? error.headers : {};
  if (isHtmx(request)) {
    const alert = `<div class="alert alert-error" role="alert">${Bun.escapeHTML(known.message)}</div>`;
    return html(alert, known.status, headers);
  }
  return html(ErrorPage({ status: known.status, message: known.message, user }), known.status, headers);
}

/**
 * A form that failed: htmx gets the message for the form's error slot; a plain browser gets the form's
 * page again with the message in it (and what was typed, except passwords).
 */
export async function formFailure(
  ctx: AppContext,
  request: Request,
  user: ConsoleUser | null,
  error: unknown,
  renderPage: (message: string) => JSX.Element | Promise<JSX.Element>,
): Promise<Response> {
  const known = friendly(error);
  if (isHtmx(request) || !known) return errorResponse(ctx, request, user, error);
  return html(renderPage(known.message), known.status);
}

/** Only a path on this site may be a post-sign-in destination. */
export function safeNext(next: string | undefined): string {
  return next && /^\/[A-Za-z0-9/_-]*$/.test(next) && !next.startsWith("//") ? next : "/dashboard";
}

/** To sign in, back here afterwards, saying why when a sign-in this browser had has ended. */
async function signInRedirect(ctx: AppContext, request: Request): Promise<Response> {
  const next = new URL(request.url).pathname;
  const params = new URLSearchParams();
  if (request.method === "GET" && next !== "/") params.set("next", next);
  const ended = await endedSignInReason(ctx, request).catch(() => null);
  if (ended) params.set("ended", ended);
  const query = params.toString();
  return redirect(request, query ? `/login?${query}` : "/login");
}

export type PageOptions = {
  /** A state-changing request: same origin required; signed-in ones need the CSRF token as well. */
  mutation?: boolean;
};

const CROSS_SITE =
  "This form was sent from another website, so it was blocked. Open clawfleet directly and try again.";
const EXPIRED = "This page has expired. Reload it and try again.";

/** A page anyone may open (sign in, sign up). */
export function page<C extends PageRequest>(
  ctx: AppContext,
  options: PageOptions & { access: "public" },
  handler: (c: C) => Promise<Response>,
): (c: C) => Promise<Response>;
/** A page for a signed-in user (or an administrator); anyone else is sent to sign in. */
export function page<C extends PageRequest>(
  ctx: AppContext,
  options: PageOptions & { access: "user" | "admin" },
  handler: (c: C, user: SignedInUser) => Promise<Response>,
): (c: C) => Promise<Response>;
export function page<C extends PageRequest>(
  ctx: AppContext,
  options: PageOptions & { access: "public" | "user" | "admin" },
  handler: (c: C, user: SignedInUser) => Promise<Response>,
): (c: C) => Promise<Response> {
  return async (c) => {
    let user: SignedInUser | null = null;
    try {
      if (options.mutation && !pageOriginAllowed(c.request, c.origin)) {
        throw new PageError(403, CROSS_SITE);
      }
      if (options.access === "public") return await (handler as (c: C) => Promise<Response>)(c);
      user = c.session ? await loadUser(ctx, c.session) : null;
      if (!user) return await signInRedirect(ctx, c.request);
      if (options.access === "admin") assertAdmin(user, "open this page");
      if (options.mutation) {
        const presented = c.request.headers.get(CSRF_HEADER) ?? formFields(c.body)._csrf ?? null;
        if (!(await csrfTokenValid(ctx.auth.keys.csrfKey, user.signInId, presented))) {
          throw new PageError(403, EXPIRED);
        }
        // Console actions count against the plan's request rate like the API's do.
        await enforceApiRate(ctx, user.id);
      }
      return await handler(c, user);
    } catch (error) {
      return errorResponse(ctx, c.request, user, error);
    }
  };
}

async function loadUser(ctx: AppContext, session: SignIn): Promise<SignedInUser | null> {
  const row = await getUser(ctx.database.db, session.userId);
  if (!row) return null;
  return {
    id: row.id,
    signInId: session.signInId,
    email: row.email,
    isAdmin: row.isAdmin,
    csrf: await csrfTokenFor(ctx.auth.keys.csrfKey, session.signInId),
    plainHttpWarning: row.isAdmin && plainHttpWarningFor(ctx.config),
  };
}
