// The test gateway inside `clawfleet-testbox` (image.ts): what the agent's gateway proxy is tested
// against. HTTP on $PORT (8080): GET /healthz, GET /stats (what it saw), WS /gateway, which needs
// `Authorization: Bearer $CLAWFLEET_GATEWAY_TOKEN` like the real runtime; POST /hooks/* echoes a webhook. On the socket every frame is
// echoed with its type, except text commands:
//   !flood N SIZE   send N binary frames of SIZE bytes (a big-endian sequence number first), as
//                   fast as this end's own back-pressure allows
//   !pause MS       stop reading the socket for MS milliseconds
//   !sink           count what arrives from now on instead of echoing it
//   !close CODE R   close with that code and reason
import type { ServerWebSocket } from "bun";

const token = process.env.CLAWFLEET_GATEWAY_TOKEN ?? "";
const stats = {
  connections: 0,
  unauthorized: 0,
  received: 0,
  floodSent: 0,
  floodDone: false,
  lastClose: null as null | { code: number; reason: string },
  keys: Object.keys(process.env)
    .filter((k) => k.endsWith("_API_KEY"))
    .sort(),
};

type Conn = { sink: boolean; pump?: () => void };

function flood(ws: ServerWebSocket<Conn>, count: number, size: number) {
  let next = 0;
  stats.floodSent = 0;
  stats.floodDone = false;
  const pump = () => {
    ws.data.pump = undefined;
    while (next < count) {
      const frame = new Uint8Array(size);
      new DataView(frame.buffer).setUint32(0, next);
      const sent = ws.send(frame);
      if (sent === 0) {
        // Refused: try the same frame again once the socket drains.
        ws.data.pump = pump;
        return;
      }
      stats.floodSent = ++next;
      if (sent === -1) {
        ws.data.pump = pump;
        return;
      }
    }
    stats.floodDone = true;
  };
  pump();
}

const server = Bun.serve<Conn, never>({
  hostname: "0.0.0.0",
  port: Number(process.env.PORT ?? 8080),
  fetch(request, srv) {
    const path = new URL(request.url).pathname;
    if (path === "/healthz") return new Response("ok");
    if (path === "/stats") return Response.json(stats);
    // An app's own WebSocket (no gateway token): echoes like /gateway.
    if (path === "/app-socket") {
      if (srv.upgrade(request, { data: { sink: false } })) return undefined;
      return new Response("upgrade required", { status: 426 });
    }
    // An app page (a template's appPort), for the apps-origin tests.
    if (path === "/app")
      return new Response('<!doctype html><title>testbox app</title><p id="app">testbox app</p>', {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    // Webhook echo (a template's hookPath "/hooks"): what arrived, so a test can compare.
    if (path.startsWith("/hooks/")) {
      return request.text().then((body) =>
        Response.json(
          {
            method: request.method,
            path,
            query: new URL(request.url).search,
            body,
            headers: Object.fromEntries(request.headers),
          },
          { status: 201, headers: { "x-testbox": "1" } },
        ),
      );
    }
    if (path === "/gateway") {
      if (token && request.headers.get("authorization") !== `Bearer ${token}`) {
        stats.unauthorized++;
        return new Response("unauthorized", { status: 401 });
      }
      if (srv.upgrade(request, { data: { sink: false } })) return undefined;
      return new Response("upgrade required", { status: 426 });
    }
    return new Response("not found", { status: 404 });
  },
  websocket: {
    maxPayloadLength: 16 * 1024 * 1024,
    open() {
      stats.connections++;
    },
    message(ws, message) {
      if (typeof message === "string" && message.startsWith("!")) {
        const [command, a = "", ...rest] = message.slice(1).split(" ");
        if (command === "flood") flood(ws, Number(a), Number(rest[0]));
        else if (command === "pause") {
          ws.pause();
          setTimeout(() => ws.resume(), Number(a));
        } else if (command === "sink") ws.data.sink = true;
        else if (command === "close") ws.close(Number(a), rest.join(" "));
        return;
      }
      if (ws.data.sink) stats.received += typeof message === "string" ? message.length : message.byteLength;
      else ws.send(message);
    },
    drain(ws) {
      ws.data.pump?.();
    },
    close(_ws, code, reason) {
      stats.lastClose = { code, reason };
    },
  },
});

process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
