// Every request to `<slug>.<apps domain>`: the second half of the handshake (ticket → host-only
// HttpOnly cookie), then each request checked (cookie for this host, its sign-in still active, the
// slug still the user's), the container woken if frozen, and the request relayed server → agent →
// the container's app port. The app's cookie is removed before the container sees the request, and
// a container cannot set a cookie for another host (Domain attributes are dropped with the cookie).
import type { Server } from "bun";
import { AgentRequestError } from "../../agent/api/client.ts";
import { APP_METHODS, type AppMethod, HOOK_MAX_BODY } from "../../agent/api/contract.ts";
import { isFamilyActive } from "../auth/refresh_tokens.ts";
import type { AppContext } from "../context.ts";
import { UserError } from "../errors.ts";
import { userForSlug } from "../hooks/hook_secrets.ts";
import { ContainerWaking, wakeSession } from "../hooks/wake_session.ts";
import { clientIp, isSecureRequest } from "../http/client_ip.ts";
import { userErrorResponse } from "../http/errors.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { touchActivity } from "../sessions/sessions_repo.ts";
import { safeNext } from "./app_host.ts";
import { APP_AUTH_PATH, APP_OPEN_PATH, cookieFrom } from "./app_open.ts";
import type { AppSocketData, createAppSockets } from "./app_socket.ts";
import { APP_COOKIE, APP_COOKIE_SECONDS, SpentTickets, signGrant, verifyGrant } from "./app_tokens.ts";

const RETRY_AFTER_SECONDS = 10;

function withoutCookie(header: string | null, name: string): string | null {
  const kept = (header ?? "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part && !part.startsWith(`${name}=`));
  return kept.length ? kept.join("; ") : null;
}

/** A container's Set-Cookie survives only without Domain (host-only) and outside our own names. */
function acceptableSetCookie(cookie: string): boolean {
  return !/;\s*domain=/i.test(cookie) && !/^\s*cf_/i.test(cookie);
}

/**
 * Whether a state-changing request (or a WebSocket) comes from the app's own pages. App hosts share
 * one site, so the Lax cookie alone would let another app's page post here with this app's cookie.
 */
function fromOwnOrigin(request: Request, secure: boolean): boolean {
  const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
  if (!upgrade && (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS"))
    return true;
  const origin = request.headers.get("origin");
  const own = `${secure ? "https" : "http"}://${request.headers.get("host") ?? ""}`;
  if (origin && origin !== "null") return origin === own;
  return request.headers.get("sec-fetch-site") === "same-origin";
}

export function createAppProxy(
  ctx: AppContext,
  lifecycle: Lifecycle,
  publicUrl: string,
  sockets: ReturnType<typeof createAppSockets>,
) {
  const db = ctx.database.db;
  const secret = ctx.auth.keys.accessTokenSecret;
  const spent = new SpentTickets();
  const consoleOrigin = new URL(publicUrl).origin;

  async function handshake(request: Request, slug: string, secure: boolean): Promise<Response> {
    const url = new URL(request.url);
    const grant = await verifyGrant(secret, url.searchParams.get("ticket") ?? "", "ticket", slug);
    if (!grant || !spent.spend(grant.nonce, grant.exp))
      throw new UserError(
        403,
        "invalid_ticket",
        "This link has expired. Open the app again from the console.",
      );
    const cookie = await signGrant(secret, {
      kind: "app",
      userId: grant.userId,
      authSessionId: grant.authSessionId,
      slug,
    });
    const attributes = [
      `${APP_COOKIE}=${cookie}`,
      "Path=/",
      "HttpOnly",
      "SameSite=Lax",
      `Max-Age=${APP_COOKIE_SECONDS}`,
    ];
    if (secure) attributes.push("Secure");
    return new Response(null, {
      status: 303,
      headers: {
        location: safeNext(url.searchParams.get("next")),
        "set-cookie": attributes.join("; "),
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
      },
    });
  }

  async function signedInUser(request: Request, slug: string): Promise<string | null> {
    const token = cookieFrom(request.headers.get("cookie"), APP_COOKIE);
    const grant = token ? await verifyGrant(secret, token, "app", slug) : null;
    if (!grant) return null;
    const [active, owner] = await Promise.all([
      isFamilyActive(db, grant.userId, grant.authSessionId, ctx.auth.policy),
      userForSlug(db, slug),
    ]);
    return active && owner === grant.userId ? grant.userId : null;
  }

  async function relay(request: Request, userId: string, peer: string): Promise<Response> {
    const method = request.method as AppMethod;
    if (!(APP_METHODS as readonly string[]).includes(method))
      throw new UserError(405, "method_not_allowed", "That method is not relayed to apps.");
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > HOOK_MAX_BODY)
      throw new UserError(413, "too_large", "The request body is too large.");
    const ip = clientIp(request, peer, ctx.config.trustedProxies);
    const session = await wakeSession(db, lifecycle, userId, ip, ctx.config.hookWaitMs);
    const found = await lifecycle.fleet.agentForNode(session.nodeId);
    if (!found) throw new ContainerWaking(RETRY_AFTER_SECONDS);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      if (name !== "cookie") headers[name] = value;
    });
    const cookies = withoutCookie(request.headers.get("cookie"), APP_COOKIE);
    if (cookies) headers.cookie = cookies;
    const url = new URL(request.url);
    let answer: Awaited<ReturnType<typeof found.agent.relayApp>>;
    try {
      answer = await found.agent.relayApp(session.id, {
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        bodyBase64: Buffer.from(body).toString("base64"),
      });
    } catch (error) {
      if (!(error instanceof AgentRequestError)) throw error;
      if (error.code === "paused" || error.status === 503) throw new ContainerWaking(RETRY_AFTER_SECONDS);
      if (error.code === "no_app") throw new UserError(404, "no_app", "This session's template has no app.");
      throw new UserError(502, "container_unreachable", "The app did not answer.");
    }
    await touchActivity(db, session.id);
    const out = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (name === "set-cookie") {
        for (const cookie of value.split("\n"))
          if (acceptableSetCookie(cookie)) out.append("set-cookie", cookie);
      } else out.set(name, value);
    }
    return new Response(method === "HEAD" ? null : Buffer.from(answer.bodyBase64, "base64"), {
      status: answer.status,
      headers: out,
    });
  }

  return async function handleApp(
    request: Request,
    slug: string,
    peer: string,
    server: Server<AppSocketData>,
  ): Promise<Response | undefined> {
    const secure = isSecureRequest(request, peer, ctx.config.trustedProxies);
    let response: Response;
    try {
      const url = new URL(request.url);
      if (url.pathname === APP_AUTH_PATH) response = await handshake(request, slug, secure);
      else {
        const userId = await signedInUser(request, slug);
        if (userId && !fromOwnOrigin(request, secure))
          throw new UserError(403, "cross_origin", "Requests to this app must come from its own pages.");
        if (userId && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
          const refused = await sockets.upgrade(request, server, userId, peer);
          if (!refused) return undefined;
          response = refused;
        } else if (userId) response = await relay(request, userId, peer);
        else if (request.method === "GET") {
          const back = new URL(`${consoleOrigin}${APP_OPEN_PATH}`);
          back.searchParams.set("slug", slug);
          back.searchParams.set("next", `${url.pathname}${url.search}`);
          response = new Response(null, { status: 303, headers: { location: back.toString() } });
        } else throw new UserError(401, "unauthenticated", "Open the app from the console first.");
      }
    } catch (error) {
      if (error instanceof UserError) response = userErrorResponse(error);
      else {
        ctx.log.error("app request failed", { error: error instanceof Error ? error.message : "unknown" });
        response = userErrorResponse(new UserError(502, "app_failed", "The app could not be reached."));
      }
    }
    response.headers.set("x-content-type-options", "nosniff");
    if (secure) response.headers.set("strict-transport-security", "max-age=63072000");
    return response;
  };
}
