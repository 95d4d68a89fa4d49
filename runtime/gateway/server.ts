// The runtime's HTTP surface: GET /healthz, the WebSocket gateway at /gateway (bearer token checked
// before the upgrade when CLAWFLEET_GATEWAY_TOKEN is set), and GET /wake (same token) for the fleet
// agent: the next schedule's time and whether work is running. Anything else is a JSON 404.
import type { Server } from "bun";
import { noDebugPages } from "../../common/no_debug_pages.ts";
import { bearerTokenMatches } from "./auth.ts";
import { type GatewayDeps, GatewaySession } from "./session.ts";

/** Larger than any valid message (memory and chat text are capped at 32k characters). */
const MAX_FRAME_BYTES = 256 * 1024;

type SocketData = { session: GatewaySession | null };

function jsonError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}

export function startGatewayServer(deps: GatewayDeps): Server<SocketData> {
  const { config, log } = deps;
  return Bun.serve<SocketData>({
    hostname: config.host,
    port: config.port,
    ...noDebugPages(log, "gateway"),
    fetch(request, server) {
      const url = new URL(request.url);
      if (url.pathname === "/healthz") {
        if (request.method !== "GET" && request.method !== "HEAD") {
          return jsonError(405, "method_not_allowed", "use GET", { allow: "GET, HEAD" });
        }
        return Response.json({ status: "ok", version: deps.version });
      }
      if (url.pathname !== "/gateway" && url.pathname !== "/wake") {
        return jsonError(404, "not_found", "no such path");
      }
      if (
        config.gatewayToken &&
        !bearerTokenMatches(request.headers.get("authorization"), config.gatewayToken)
      ) {
        log.warn("gateway connection refused", { reason: "bad or missing token" });
        return jsonError(401, "unauthorized", "a valid gateway token is required", {
          "www-authenticate": 'Bearer realm="clawfleet-runtime"',
        });
      }
      // What the fleet agent asks before freezing: the next schedule, and whether work is running.
      if (url.pathname === "/wake") {
        if (request.method !== "GET")
          return jsonError(405, "method_not_allowed", "use GET", { allow: "GET" });
        return Response.json({
          next_wake_at: deps.scheduler.nextWake(),
          busy: deps.scheduler.busy() || deps.chat.busy(),
        });
      }
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return jsonError(426, "upgrade_required", "/gateway is a WebSocket endpoint", {
          upgrade: "websocket",
        });
      }
      if (server.upgrade(request, { data: { session: null } })) return undefined;
      return jsonError(400, "bad_upgrade", "the WebSocket handshake is invalid");
    },
    websocket: {
      maxPayloadLength: MAX_FRAME_BYTES,
      open(ws) {
        ws.data.session = new GatewaySession(deps, (text) => ws.send(text));
        ws.data.session.hello();
      },
      message(ws, frame) {
        void ws.data.session?.handle(frame);
      },
      close(ws) {
        ws.data.session?.close();
      },
    },
  });
}
