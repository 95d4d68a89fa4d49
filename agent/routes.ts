// The agent's HTTP API (DESIGN.md "Agent API"). Every request, WebSocket upgrades included, must carry
// a valid cluster-secret signature before anything else is looked at. `:id` is the clawfleet session id
// (the container's clawfleet.session label).
import type { Server, ServerWebSocket } from "bun";
import type { Logger } from "../common/log.ts";
import type { WsSession } from "../common/ws_relay.ts";
import { AgentError } from "./agent_error.ts";
import {
  type HealthReport,
  HOOK_RELAY_MAX_BYTES,
  parseAppRelayRequest,
  parseContainerSpec,
  parseGrowVolumeRequest,
  parseHookRelayRequest,
  parseLiveLimits,
  parseRestoreRequest,
  type RequestVerifier,
  SESSION_ID,
} from "./api/contract.ts";
import {
  AGENT_API_VERSION,
  type AgentErrorBody,
  type AgentErrorCode,
  type AgentRouteName,
  matchRoute,
  VERSION_HEADER,
} from "./api/route_table.ts";
import type { ContainerManager } from "./containers.ts";
import { type DockerClient, DockerError } from "./docker/client.ts";
import type { SpliceTarget } from "./front.ts";
import { relayApp, relayHook } from "./hook_relay.ts";
import type { OpenSockets } from "./open_sockets.ts";
import { TerminalSession } from "./terminal.ts";
import { RECONNECT_ID, type Shells } from "./terminal_shell.ts";
import { VolumeError } from "./volumes/volumes.ts";

/** A WebSocket's handler: built at `open` by the route that accepted the upgrade. */
export type WsData = { start(ws: ServerWebSocket<WsData>): WsSession; session?: WsSession };

export const MAX_BODY = 64 * 1024;
const APP_SOCKET_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/%?-]{0,2047}$/;

/** An empty body is undefined; a body that is not JSON is null (which every parser refuses). */
function parseJson(body: Uint8Array): unknown {
  if (body.byteLength === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return null;
  }
}

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", [VERSION_HEADER]: AGENT_API_VERSION },
  });
}
function noContent() {
  return new Response(null, { status: 204, headers: { [VERSION_HEADER]: AGENT_API_VERSION } });
}
function fail(status: number, code: AgentErrorCode, message: string) {
  return json(status, { error: { code, message } } satisfies AgentErrorBody);
}

export type RouterDeps = {
  verifier: RequestVerifier;
  manager: ContainerManager;
  docker: DockerClient;
  health: () => Promise<HealthReport>;
  sockets: OpenSockets;
  shells: Shells;
  log: Logger;
};

type Call = { request: Request; server: Server<WsData>; id: string; body: Uint8Array };
type Handler = (call: Call) => Promise<Response | undefined>;

export function createRouter(deps: RouterDeps) {
  const { verifier, manager, shells, sockets, log } = deps;

  async function upgrade(call: Call, prepare: () => Promise<WsData>): Promise<Response | undefined> {
    if (call.request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      return fail(426, "upgrade_required", "a WebSocket upgrade is required");
    const data = await prepare();
    if (call.server.upgrade(call.request, { data, headers: { [VERSION_HEADER]: AGENT_API_VERSION } }))
      return undefined;
    return fail(400, "upgrade_failed", "the WebSocket upgrade failed");
  }

  /** A container's WebSocket that reached the API server: not an upgrade, or not a connection's first request. */
  function notSpliced(request: Request): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      return fail(426, "upgrade_required", "a WebSocket upgrade is required");
    return fail(400, "upgrade_failed", "a container's WebSocket must be its connection's first request");
  }

  // One handler per route of the contract's table: a route without one does not compile.
  const handlers: Record<AgentRouteName, Handler> = {
    health: async () => json(200, await deps.health()),
    listContainers: async () => json(200, { containers: await manager.list() }),
    spawn: async ({ body, request, server }) => {
      // A spawn answers when the container is ready: longer than Bun's 10 s idle timeout for a slow
      // template (OpenClaw: tens of seconds). The request is signed, and the wait is bounded by the
      // template's health timeout, so this one request may stay quiet that long.
      server.timeout(request, 0);
      let input: unknown;
      try {
        input = JSON.parse(new TextDecoder().decode(body));
      } catch {
        return fail(400, "invalid_json", "the body must be JSON");
      }
      const spec = parseContainerSpec(input);
      if (typeof spec === "string") return fail(400, "invalid_spec", spec);
      return json(201, await manager.spawn(spec));
    },
    getContainer: async ({ id }) => {
      const found = await manager.get(id);
      return found ? json(200, found) : fail(404, "not_found", "no such container on this node");
    },
    removeContainer: async ({ id }) => {
      sockets.shutAll(id, 1001, "the container was removed");
      shells.endAll(id);
      await manager.remove(id);
      return noContent();
    },
    dropContainer: async ({ id }) => {
      sockets.shutAll(id, 1001, "the container was removed");
      shells.endAll(id);
      await manager.drop(id);
      return noContent();
    },
    listLeftoverVolumes: async () => json(200, { volumes: await manager.leftoverVolumes() }),
    removeLeftoverVolume: async ({ id }) => {
      await manager.removeLeftoverVolume(id);
      return noContent();
    },
    freeze: async ({ id }) => {
      const { wakeAt } = await manager.freeze(id);
      // Nothing would read a frozen container's sockets: end them rather than let frames pile up.
      sockets.shutAll(id, 1001, "the container was frozen");
      const info = await manager.get(id);
      return json(200, info && wakeAt !== null ? { ...info, wakeAt: new Date(wakeAt).toISOString() } : info);
    },
    restore: async ({ id, body }) => {
      const restore = parseRestoreRequest(parseJson(body));
      if (typeof restore === "string") return fail(400, "invalid_spec", restore);
      await manager.restore(id, restore);
      return json(200, await manager.get(id));
    },
    growVolume: async ({ id, body }) => {
      const grow = parseGrowVolumeRequest(parseJson(body));
      if (typeof grow === "string") return fail(400, "invalid_spec", grow);
      await manager.growVolume(id, grow.diskMb);
      return json(200, await manager.get(id));
    },
    updateLimits: async ({ id, body }) => {
      let input: unknown;
      try {
        input = JSON.parse(new TextDecoder().decode(body));
      } catch {
        return fail(400, "invalid_json", "the body must be JSON");
      }
      const limits = parseLiveLimits(input);
      if (typeof limits === "string") return fail(400, "invalid_limits", limits);
      await manager.updateLimits(id, limits);
      return json(200, await manager.get(id));
    },
    stats: async ({ id }) => json(200, await manager.stats(id)),
    hook: async ({ id, body }) => {
      let input: unknown;
      try {
        input = JSON.parse(new TextDecoder().decode(body));
      } catch {
        return fail(400, "invalid_json", "the body must be JSON");
      }
      const hook = parseHookRelayRequest(input);
      if (typeof hook === "string") return fail(400, "invalid_spec", hook);
      return json(200, await relayHook(await manager.hookTarget(id), hook));
    },
    app: async ({ id, body }) => {
      let input: unknown;
      try {
        input = JSON.parse(new TextDecoder().decode(body));
      } catch {
        return fail(400, "invalid_json", "the body must be JSON");
      }
      const request = parseAppRelayRequest(input);
      if (typeof request === "string") return fail(400, "invalid_spec", request);
      return json(200, await relayApp(await manager.appTarget(id), request));
    },
    // Spliced by the front (front.ts) when they open a connection, which every WebSocket client does.
    gateway: async ({ request }) => notSpliced(request),
    appSocket: async ({ request }) => notSpliced(request),
    terminal: (call) =>
      upgrade(call, async () => {
        const target = await manager.terminalTarget(call.id);
        const reconnect = new URL(call.request.url).searchParams.get("reconnect");
        const reconnectId = reconnect && RECONNECT_ID.test(reconnect) ? reconnect : null;
        return {
          start: (ws) => {
            const terminal = new TerminalSession(ws, shells.open(call.id, reconnectId, target), log);
            terminal.onEnd = sockets.add(call.id, terminal);
            return terminal;
          },
        };
      }),
  };

  /** Where the front splices a verified upgrade: the container's address and what the agent adds. */
  const spliceTargets: Record<
    "gateway" | "appSocket",
    (upgrade: { request: Request; id: string }) => Promise<SpliceTarget>
  > = {
    gateway: async ({ id }) => {
      const target = await manager.gatewayTarget(id);
      return {
        ...spliceAddress(target.url, id),
        headers: { authorization: `Bearer ${target.token}` },
        refusal: "the container's gateway refused the connection",
      };
    },
    appSocket: async ({ id, request }) => {
      const path = new URL(request.url).searchParams.get("path") ?? "/";
      if (!APP_SOCKET_PATH.test(path) || path.includes(".."))
        throw new AgentError(400, "invalid_spec", "bad app socket path");
      return {
        ...spliceAddress(`${await manager.appTarget(id)}${path}`, id),
        headers: {},
        refusal: "the container's app refused a WebSocket",
      };
    },
  };

  /** The signature, version, route and id checks of every request; the route it names, or the refusal. */
  async function authorize(
    request: Request,
    url: URL,
    body: Uint8Array,
  ): Promise<Response | { name: AgentRouteName; id: string }> {
    // Webhooks carry their sender's body; every other route takes a small JSON document.
    const limit = /^\/v1\/containers\/[^/]+\/(hook|app)$/.test(url.pathname)
      ? HOOK_RELAY_MAX_BYTES
      : MAX_BODY;
    if (body.byteLength > limit) return fail(413, "too_large", "the request body is too large");
    const verdict = await verifier.verify(
      request.method,
      `${url.pathname}${url.search}`,
      request.headers,
      body,
    );
    if (!verdict.ok) {
      log.warn("refused an unsigned or badly signed request", {
        reason: verdict.reason,
        method: request.method,
        path: url.pathname,
        keyId: request.headers.get("x-clawfleet-key-id")?.slice(0, 64) ?? null,
      });
      return fail(401, "unauthorized", "request signature rejected");
    }
    const version = request.headers.get(VERSION_HEADER);
    if (version !== AGENT_API_VERSION) {
      return fail(
        400,
        "version_mismatch",
        `this agent speaks API version ${AGENT_API_VERSION}; the request was for ${version ?? "no version"}: run the same clawfleet release on the server and its agents`,
      );
    }
    const match = matchRoute(request.method, url.pathname);
    if (match === "wrong_method") return fail(405, "method_not_allowed", "that method is not allowed here");
    if (!match) return fail(404, "not_found", "no such route");
    const id = match.id ?? "";
    if (match.id !== undefined && !SESSION_ID.test(id))
      return fail(404, "not_found", "no such container on this node");
    return { name: match.name, id };
  }

  async function route(request: Request, server: Server<WsData>): Promise<Response | undefined> {
    const url = new URL(request.url);
    const body = new Uint8Array(await request.arrayBuffer());
    const route = await authorize(request, url, body);
    if (route instanceof Response) return route;
    return handlers[route.name]({ request, server, id: route.id, body });
  }

  async function splice(request: Request): Promise<SpliceTarget | Response> {
    const route = await authorize(request, new URL(request.url), new Uint8Array(0));
    if (route instanceof Response) return route;
    if (route.name !== "gateway" && route.name !== "appSocket")
      return fail(404, "not_found", "no such route");
    return spliceTargets[route.name]({ request, id: route.id });
  }

  /** A failure as its JSON error (bad input is never a 5xx). */
  function failure(error: unknown): Response {
    if (error instanceof AgentError || error instanceof VolumeError)
      return fail(error.status, error.code, error.message);
    if (error instanceof DockerError) {
      if (/address pool/.test(error.message)) {
        log.error("docker has no network addresses left: set default-address-pools (deploy/daemon.json)");
        return fail(503, "node_out_of_networks", "this node cannot create more container networks");
      }
      log.warn("docker refused", { error: error.message });
      const status = error.notFound ? 404 : error.conflict ? 409 : error.unreachable ? 503 : 502;
      return fail(status, "docker_error", error.message);
    }
    log.error("agent request failed", { error });
    return fail(500, "internal", "the agent failed to handle the request");
  }

  return {
    fetch: (request: Request, server: Server<WsData>): Promise<Response | undefined> =>
      route(request, server).catch(failure),
    splice: (request: Request): Promise<SpliceTarget | Response> => splice(request).catch(failure),
  };
}

/** A ws:// target URL as the front's host, port and path. */
function spliceAddress(url: string, sessionId: string) {
  const parsed = new URL(url.replace(/^ws:/, "http:"));
  return {
    sessionId,
    hostname: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: Number(parsed.port || 80),
    path: `${parsed.pathname}${parsed.search}`,
  };
}
