// WebSockets on an app's origin: the same cookie check as its pages, the Origin must be the app's
// own (app hosts are same-site with each other, so SameSite cookies alone would let one app's page
// open a socket to another's), the container woken when frozen, then the one relay
// (common/ws_relay.ts) browser ⇄ server ⇄ agent ⇄ the container's app port.
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { MAX_FRAME, relayedSocketEvents, WsRelay } from "../../common/ws_relay.ts";
import type { AppContext } from "../context.ts";
import { UserError } from "../errors.ts";
import { wakeSession } from "../hooks/wake_session.ts";
import { clientIp } from "../http/client_ip.ts";
import { userErrorResponse } from "../http/errors.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { activityRecorder } from "../sessions/sessions_repo.ts";

export type AppSocketData = { app: true; sessionId: string; nodeId: string; path: string; relay?: WsRelay };

const ACTIVITY_EVERY_MS = 60_000;

export function createAppSockets(ctx: AppContext, lifecycle: Lifecycle) {
  const db = ctx.database.db;
  const open = new Set<ServerWebSocket<AppSocketData>>();

  async function upgrade(
    request: Request,
    server: Server<AppSocketData>,
    userId: string,
    peer: string,
  ): Promise<Response | undefined> {
    try {
      const url = new URL(request.url);
      const session = await wakeSession(
        db,
        lifecycle,
        userId,
        clientIp(request, peer, ctx.config.trustedProxies),
        ctx.config.hookWaitMs,
      );
      const data: AppSocketData = {
        app: true,
        sessionId: session.id,
        nodeId: session.nodeId,
        path: `${url.pathname}${url.search}`,
      };
      if (server.upgrade(request, { data })) return undefined;
      throw new UserError(400, "upgrade_failed", "Expected a WebSocket upgrade.");
    } catch (error) {
      if (error instanceof UserError) return userErrorResponse(error);
      throw error;
    }
  }

  async function connectUpstream(ws: ServerWebSocket<AppSocketData>, relay: WsRelay) {
    try {
      const found = await lifecycle.fleet.agentForNode(ws.data.nodeId);
      if (!found) return relay.fail("node gone");
      relay.attach(await found.agent.connectApp(ws.data.sessionId, ws.data.path));
    } catch (error) {
      ctx.log.warn("could not reach the agent for an app socket", { error });
      relay.fail("node unreachable");
    }
  }

  const handlers: WebSocketHandler<AppSocketData> = {
    maxPayloadLength: MAX_FRAME,
    open(ws) {
      open.add(ws);
      const relay = new WsRelay(ws as ServerWebSocket<unknown>, {
        onActivity: activityRecorder(db, ws.data.sessionId, ACTIVITY_EVERY_MS),
      });
      ws.data.relay = relay;
      void connectUpstream(ws, relay);
    },
    ...relayedSocketEvents,
    close(ws, code, reason) {
      open.delete(ws);
      ws.data.relay?.close(code, reason);
    },
  };

  function closeAll(code: number, reason: string) {
    for (const ws of open) ws.data.relay?.shut(code, reason);
  }

  return { upgrade, handlers, closeAll };
}

/** One handler set for the server: app sockets to theirs, every other socket to the session proxy. */
export function dispatchSockets<T>(
  session: WebSocketHandler<T>,
  apps: WebSocketHandler<AppSocketData>,
): WebSocketHandler<T | AppSocketData> {
  const isApp = (ws: ServerWebSocket<T | AppSocketData>): ws is ServerWebSocket<AppSocketData> =>
    (ws.data as Partial<AppSocketData>).app === true;
  type Any = ServerWebSocket<T | AppSocketData>;
  return {
    maxPayloadLength: MAX_FRAME,
    open: (ws: Any) => (isApp(ws) ? apps.open?.(ws) : session.open?.(ws as ServerWebSocket<T>)),
    message: (ws: Any, message) =>
      isApp(ws) ? apps.message?.(ws, message) : session.message?.(ws as ServerWebSocket<T>, message),
    drain: (ws: Any) => (isApp(ws) ? apps.drain?.(ws) : session.drain?.(ws as ServerWebSocket<T>)),
    close: (ws: Any, code, reason) =>
      isApp(ws) ? apps.close?.(ws, code, reason) : session.close?.(ws as ServerWebSocket<T>, code, reason),
  };
}
