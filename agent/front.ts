// The agent's listener: TLS on CLAWFLEET_AGENT_LISTEN, in front of the API server (Bun.serve on a
// unix socket in the data directory, reachable by root only). A connection whose first request is a
// WebSocket upgrade to a container (gateway, app socket) is verified by the router like any request,
// then spliced to the container byte for byte (splice.ts): the relay costs one TLS step and one socket
// write per read, not a decode and re-encode of every frame. Every other connection is joined to the
// API server as it came, so routes, signatures, the terminal and errors are Bun.serve's as before.
import type { TCPSocketListener } from "bun";
import type { Logger } from "../common/log.ts";
import { AGENT_API_VERSION, matchRoute, VERSION_HEADER } from "./api/route_table.ts";
import {
  headLength,
  MAX_HEAD,
  parseRequestHead,
  parseResponseHead,
  serializeHead,
  serializeResponse,
} from "./http_head.ts";
import type { OpenSockets } from "./open_sockets.ts";
import {
  concatBytes,
  type EndpointData,
  endpointHandlers,
  type SpliceSocket,
  spliceSockets,
  WsSplice,
} from "./splice.ts";

/** Where a verified upgrade goes: the container's address, the path, and what the agent adds. */
export type SpliceTarget = {
  sessionId: string;
  hostname: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  /** Logged when the container refuses or cannot be reached. */
  refusal: string;
};

/** The router's answer to an upgrade: where to splice it, or the error to send. */
export type SpliceRouter = (request: Request) => Promise<SpliceTarget | Response>;

export type FrontOptions = {
  hostname: string;
  port: number;
  tls: { cert: string; key: string };
  /** The API server's unix socket. */
  api: string;
  route: SpliceRouter;
  sockets: OpenSockets;
  log: Logger;
};

const SPLICED_ROUTES = new Set(["gateway", "appSocket"]);
/** How long a connection has to send its first request head (Bun.serve's own idle timeout is 10 s). */
const HEAD_TIMEOUT_S = 10;
/** How long a container has to answer the upgrade. */
const CONTAINER_ANSWER_MS = 15_000;
/** Upgrade headers the container sees from the request; the rest (signature, version) stay here. */
const PASSED_HEADERS = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol"];

export function startFront(opts: FrontOptions): TCPSocketListener<EndpointData> {
  return Bun.listen<EndpointData>({
    hostname: opts.hostname,
    port: opts.port,
    tls: opts.tls,
    socket: {
      ...endpointHandlers,
      open(socket) {
        socket.data = {};
        socket.setNoDelay(true);
        socket.timeout(HEAD_TIMEOUT_S);
        socket.data.endpoint = firstRequest(socket, opts);
      },
      timeout(socket) {
        socket.terminate();
      },
    },
  });
}

/** The connection's first request, read until its head is complete. */
type FirstRequest = { bytes: Uint8Array; gone: boolean };

/** Reads the connection's first request head, then hands the connection to the API or a container. */
function firstRequest(socket: SpliceSocket, opts: FrontOptions) {
  const first: FirstRequest = { bytes: new Uint8Array(0), gone: false };
  let decided = false;
  return {
    data(chunk: Uint8Array) {
      // Until the splice takes over, later bytes wait here too (the socket is paused, but a read
      // under way still arrives).
      first.bytes = concatBytes(first.bytes, chunk);
      if (decided) return;
      const length = headLength(first.bytes);
      if (length < 0 && first.bytes.byteLength <= MAX_HEAD) return;
      decided = true;
      // From here the API server's idle timeout applies, and a WebSocket may stay quiet for hours.
      socket.timeout(0);
      socket.pause();
      const head = length < 0 ? null : parseRequestHead(first.bytes.subarray(0, length));
      const upgrade = head?.method === "GET" && head.headers.get("upgrade")?.toLowerCase() === "websocket";
      const match =
        upgrade && head ? matchRoute("GET", new URL(head.target, "https://agent").pathname) : null;
      if (head && match && typeof match === "object" && SPLICED_ROUTES.has(match.name))
        void spliceUpgrade(socket, head, length, first, opts);
      else toApi(socket, first, opts);
    },
    drain() {},
    closed() {
      decided = true;
      first.gone = true;
    },
  };
}

/** The whole connection, the bytes read so far first, to the API server. */
function toApi(socket: SpliceSocket, first: FirstRequest, opts: FrontOptions) {
  Bun.connect<EndpointData>({
    unix: opts.api,
    data: {},
    socket: {
      ...endpointHandlers,
      open(api) {
        if (first.gone) {
          api.end();
          return;
        }
        api.write(first.bytes);
        spliceSockets(socket, api);
        socket.resume();
      },
      connectError() {
        opts.log.error("the agent's API server is not reachable on its socket");
        socket.terminate();
      },
    },
  }).catch(() => socket.terminate());
}

async function answer(socket: SpliceSocket, response: Response) {
  socket.write(await serializeResponse(response));
  socket.end();
}

function errorResponse(status: number, code: string, message: string) {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json", [VERSION_HEADER]: AGENT_API_VERSION },
  });
}

async function spliceUpgrade(
  socket: SpliceSocket,
  head: NonNullable<ReturnType<typeof parseRequestHead>>,
  headEnd: number,
  first: FirstRequest,
  opts: FrontOptions,
) {
  const request = new Request(new URL(head.target, "https://agent"), {
    method: "GET",
    headers: head.headers,
  });
  const target = await opts.route(request);
  if (target instanceof Response) return answer(socket, target);
  if (!head.headers.get("sec-websocket-key") || head.headers.get("sec-websocket-version") !== "13")
    return answer(socket, errorResponse(400, "upgrade_failed", "the WebSocket upgrade failed"));
  let refused = false;
  // Once, whichever of a refusal, a timeout or a close comes first (each may cause the next).
  const refuse = (why: string) => {
    if (refused) return;
    refused = true;
    opts.log.warn(target.refusal, { why });
    void answer(
      socket,
      errorResponse(502, "container_unreachable", "the container did not accept the WebSocket"),
    );
  };
  const headers: Record<string, string> = {
    host: `${target.hostname}:${target.port}`,
    connection: "Upgrade",
    upgrade: "websocket",
  };
  for (const name of PASSED_HEADERS) {
    const value = head.headers.get(name);
    if (value) headers[name] = value;
  }
  Object.assign(headers, target.headers);
  let reply: Uint8Array = new Uint8Array(0);
  let spliced = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const container = await Bun.connect<EndpointData>({
    hostname: target.hostname,
    port: target.port,
    data: {},
    socket: {
      ...endpointHandlers,
      open(upstream) {
        upstream.setNoDelay(true);
        upstream.write(serializeHead(`GET ${target.path} HTTP/1.1`, headers));
        timer = setTimeout(() => {
          refuse("no answer to the upgrade in time");
          upstream.terminate();
        }, CONTAINER_ANSWER_MS);
        upstream.data.endpoint = {
          data(chunk) {
            reply = concatBytes(reply, chunk);
            const length = headLength(reply);
            if (length < 0 && reply.byteLength <= MAX_HEAD) return;
            clearTimeout(timer);
            const response = length < 0 ? null : parseResponseHead(reply.subarray(0, length));
            if (first.gone) return upstream.end();
            if (response?.status !== 101) {
              refuse(`answered ${response?.status ?? "garbage"}`);
              return upstream.end();
            }
            response.headers.set(VERSION_HEADER, AGENT_API_VERSION);
            socket.write(serializeHead("HTTP/1.1 101 Switching Protocols", response.headers));
            spliced = true;
            join(socket, upstream, first.bytes.subarray(headEnd), reply.subarray(length), target, opts);
          },
          drain() {},
          closed() {
            clearTimeout(timer);
            if (!first.gone && !spliced) refuse("closed before answering");
          },
        };
      },
      connectError(_upstream, error) {
        refuse(error.message);
      },
    },
  }).catch(() => null);
  if (container && first.gone) container.end();
}

function join(
  socket: SpliceSocket,
  container: SpliceSocket,
  fromServer: Uint8Array,
  fromContainer: Uint8Array,
  target: SpliceTarget,
  opts: FrontOptions,
) {
  let forget = () => {};
  const splice = new WsSplice(socket, container, {
    onEnd: () => forget(),
    onTooLarge: () => opts.log.warn("a container sent a WebSocket frame past the cap; the link was cut"),
  });
  forget = opts.sockets.add(target.sessionId, splice);
  splice.start(fromServer.slice(), fromContainer.slice());
  socket.resume();
}
