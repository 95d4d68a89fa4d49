// WS /api/v1/session/gateway and /api/v1/session/terminal: authenticate the user (Bearer access or
// personal access token, or the console's access cookie; Origin checked), make sure their container
// runs (a frozen one is restored on connect), then relay to the node's agent over its signed WSS.
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { MAX_FRAME, relayedSocketEvents, WsRelay } from "../../common/ws_relay.ts";
import { accessTokenSigner } from "../auth/access_tokens.ts";
import { ACCESS_COOKIE } from "../auth/cookies.ts";
import { expectedOrigin } from "../auth/csrf.ts";
import type { AppContext } from "../context.ts";
import { getNode } from "../fleet/nodes.ts";
import { bearerAuth, verifyAccess } from "../http/api_base.ts";
import { clientIp, isSecureRequest } from "../http/client_ip.ts";
import { errorBody } from "../http/errors.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { activityRecorder, getSessionView } from "../sessions/sessions_repo.ts";
import { OpenSockets } from "./open_sockets.ts";
import { SocketLimits } from "./socket_limits.ts";

export const SESSION_WS_PATHS: Record<string, "gateway" | "terminal"> = {
  "/api/v1/session/gateway": "gateway",
  "/api/v1/session/terminal": "terminal",
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type ProxyMetrics = { open: number; total: number; bytesIn: number; bytesOut: number };

type Data = {
  kind: "gateway" | "terminal";
  /** The terminal's reconnect id (a UUID the page keeps), so a reload reattaches to the same shell. */
  reconnect?: string;
  userId: string;
  sessionId: string;
  nodeId: string;
  relay?: WsRelay;
  signIn: { userId: string; signInId: string; checkedAt: number };
  unregister?: () => void;
};

function reject(status: number, code: string, message: string, retryAfterSeconds?: number) {
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  if (retryAfterSeconds !== undefined) headers["retry-after"] = String(retryAfterSeconds);
  return new Response(JSON.stringify(errorBody(code, message)), { status, headers });
}

function cookie(request: Request, name: string): string | null {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k !== name) continue;
    // A malformed escape is bad input (a 401 below), never an exception out of the upgrade.
    try {
      return decodeURIComponent(v.join("="));
    } catch {
      return null;
    }
  }
  return null;
}

export function createSessionWsProxy(ctx: AppContext, lifecycle: Lifecycle, sockets = new OpenSockets()) {
  const tokens = accessTokenSigner(ctx.auth.keys.accessTokenSecret);
  const metrics: ProxyMetrics = { open: 0, total: 0, bytesIn: 0, bytesOut: 0 };
  const ACTIVITY_EVERY_MS = 30_000;
  const limits = new SocketLimits();

  async function upgrade(
    request: Request,
    server: Server<Data>,
    peer: string,
  ): Promise<Response | undefined> {
    const kind = SESSION_WS_PATHS[new URL(request.url).pathname];
    if (!kind) return reject(404, "not_found", "No such route.");
    const secure = isSecureRequest(request, peer, ctx.config.trustedProxies);
    const origin = request.headers.get("origin");
    if (origin && origin !== expectedOrigin(request, ctx.config.publicUrl, secure)) {
      return reject(403, "bad_origin", "Cross-site WebSocket connections are not allowed.");
    }
    const header = request.headers.get("authorization");
    const access = origin ? cookie(request, ACCESS_COOKIE) : null;
    const checkedAt = Date.now();
    // A personal access token is good as Bearer only, never from the console's cookie.
    const auth = header?.startsWith("Bearer ")
      ? await bearerAuth(ctx, tokens, header.slice(7).trim())
      : access
        ? await verifyAccess(ctx, tokens, access)
        : null;
    if (!auth) return reject(401, "unauthenticated", "Sign in to continue.");

    let view = await getSessionView(ctx.database.db, auth.userId);
    if (view?.session?.state === "frozen") {
      await lifecycle.request(auth.userId, "restore", clientIp(request, peer, ctx.config.trustedProxies));
      view = await getSessionView(ctx.database.db, auth.userId);
    }
    const session = view?.session;
    if (session?.state !== "running" || !session.nodeId) {
      return reject(409, "not_running", "Your container is not running. Spawn it first.");
    }
    const refused = limits.acquire(auth.userId);
    if (refused) return reject(429, "too_many_sockets", refused.message, refused.retryAfterSeconds);
    const reconnect = new URL(request.url).searchParams.get("reconnect") ?? "";
    const signIn = { userId: auth.userId, signInId: auth.signInId, checkedAt };
    const data: Data = { kind, userId: auth.userId, sessionId: session.id, nodeId: session.nodeId, signIn };
    if (kind === "terminal" && UUID.test(reconnect)) data.reconnect = reconnect;
    if (server.upgrade(request, { data })) return undefined;
    limits.release(auth.userId);
    return reject(400, "upgrade_failed", "Expected a WebSocket upgrade.");
  }

  const open = new Set<ServerWebSocket<Data>>();
  const handlers: WebSocketHandler<Data> = {
    maxPayloadLength: MAX_FRAME,
    open(ws: ServerWebSocket<Data>) {
      open.add(ws);
      ws.data.unregister = sockets.register(ws.data.signIn, ws.data.signIn.checkedAt, () =>
        ws.data.relay ? ws.data.relay.shut(1008, "signed out") : ws.close(1008, "signed out"),
      );
      metrics.open++;
      metrics.total++;
      // Made before the agent is reached, so the browser's first frames wait in the relay's bounded,
      // back-pressured queue rather than in a list of our own.
      const relay = new WsRelay(ws as ServerWebSocket<unknown>, {
        onActivity: activityRecorder(ctx.database.db, ws.data.sessionId, ACTIVITY_EVERY_MS),
        onEnd: () => {
          metrics.open--;
          metrics.bytesIn += relay.bytesIn;
          metrics.bytesOut += relay.bytesOut;
        },
      });
      ws.data.relay = relay;
      void connectUpstream(ws, relay);
    },
    ...relayedSocketEvents,
    close(ws, code, reason) {
      open.delete(ws);
      ws.data.unregister?.();
      limits.release(ws.data.userId);
      ws.data.relay?.close(code, reason);
    },
  };

  async function connectUpstream(ws: ServerWebSocket<Data>, relay: WsRelay) {
    try {
      const node = await getNode(ctx.database.db, ws.data.nodeId);
      if (!node) return relay.fail("node gone");
      relay.attach(
        await lifecycle.fleet.agentFor(node).connect(ws.data.sessionId, ws.data.kind, ws.data.reconnect),
      );
    } catch (error) {
      ctx.log.warn("could not reach the agent for a session socket", { error });
      relay.fail("node unreachable");
    }
  }

  function closeAll(code: number, reason: string) {
    for (const ws of open) ws.data.relay?.shut(code, reason);
  }

  return { upgrade, handlers, metrics, closeAll };
}
