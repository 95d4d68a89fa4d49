// The agent's HTTP API (DESIGN.md "Agent API"). Every request, WebSocket upgrades included, must carry
// a valid cluster-secret signature before anything else is looked at. `:id` is the clawfleet session id
// (the container's clawfleet.session label).
import type { Server } from "bun";
import type { Logger } from "../common/log.ts";
import {
  type HealthReport,
  parseContainerSpec,
  parseRestoreRequest,
  type RequestVerifier,
  SESSION_ID,
} from "./api/contract.ts";
import { AgentError, type ContainerManager } from "./containers.ts";
import { type DockerClient, DockerError } from "./docker/client.ts";
import { GatewayRelay } from "./proxy.ts";
import { TerminalSession } from "./terminal.ts";
import { VolumeError } from "./volumes/volumes.ts";
import type { WsData } from "./ws_session.ts";

export const MAX_BODY = 64 * 1024;

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
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
function fail(status: number, code: string, message: string) {
  return json(status, { error: { code, message } });
}

export type RouterDeps = {
  verifier: RequestVerifier;
  manager: ContainerManager;
  docker: DockerClient;
  health: () => Promise<HealthReport>;
  log: Logger;
};

export function createRouter(deps: RouterDeps) {
  const { verifier, manager, docker, log } = deps;

  async function containers(method: string, body: Uint8Array): Promise<Response> {
    if (method === "GET") return json(200, { containers: await manager.list() });
    if (method !== "POST") return fail(405, "method_not_allowed", "use GET or POST");
    let input: unknown;
    try {
      input = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return fail(400, "invalid_json", "the body must be JSON");
    }
    const spec = parseContainerSpec(input);
    if (typeof spec === "string") return fail(400, "invalid_spec", spec);
    return json(201, await manager.spawn(spec));
  }

  async function container(
    request: Request,
    server: Server<WsData>,
    sessionId: string,
    action: string | undefined,
    body: Uint8Array,
  ): Promise<Response | undefined> {
    const method = request.method;
    if (action === undefined) {
      if (method === "GET") {
        const found = await manager.get(sessionId);
        return found ? json(200, found) : fail(404, "not_found", "no such container on this node");
      }
      if (method === "DELETE") {
        await manager.remove(sessionId);
        return new Response(null, { status: 204 });
      }
      return fail(405, "method_not_allowed", "use GET or DELETE");
    }
    if (action === "freeze" || action === "restore") {
      if (method !== "POST") return fail(405, "method_not_allowed", "use POST");
      if (action === "freeze") await manager.freeze(sessionId);
      else {
        const restore = parseRestoreRequest(parseJson(body));
        if (typeof restore === "string") return fail(400, "invalid_request", restore);
        await manager.restore(sessionId, restore);
      }
      return json(200, await manager.get(sessionId));
    }
    if (action === "stats") {
      if (method !== "GET") return fail(405, "method_not_allowed", "use GET");
      return json(200, await manager.stats(sessionId));
    }
    if (action === "gateway" || action === "terminal") {
      if (method !== "GET" || request.headers.get("upgrade")?.toLowerCase() !== "websocket")
        return fail(426, "upgrade_required", "a WebSocket upgrade is required");
      let data: WsData;
      if (action === "gateway") {
        const target = await manager.gatewayTarget(sessionId);
        data = { start: (ws) => new GatewayRelay(ws, target, log) };
      } else {
        const target = await manager.terminalTarget(sessionId);
        data = { start: (ws) => new TerminalSession(ws, docker, target, log) };
      }
      if (server.upgrade(request, { data })) return undefined;
      return fail(400, "upgrade_failed", "the WebSocket upgrade failed");
    }
    return fail(404, "not_found", "no such route");
  }

  async function route(request: Request, server: Server<WsData>): Promise<Response | undefined> {
    const url = new URL(request.url);
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > MAX_BODY) return fail(413, "too_large", "the request body is too large");
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
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "v1") return fail(404, "not_found", "no such route");
    if (parts[1] === "health" && parts.length === 2) {
      if (request.method !== "GET") return fail(405, "method_not_allowed", "use GET");
      return json(200, await deps.health());
    }
    if (parts[1] !== "containers" || parts.length > 4) return fail(404, "not_found", "no such route");
    if (parts.length === 2) return containers(request.method, body);
    const sessionId = parts[2] ?? "";
    if (!SESSION_ID.test(sessionId)) return fail(404, "not_found", "no such container on this node");
    return container(request, server, sessionId, parts[3], body);
  }

  /** The route, with every failure turned into a JSON error (bad input is never a 5xx). */
  return async (request: Request, server: Server<WsData>): Promise<Response | undefined> => {
    try {
      return await route(request, server);
    } catch (error) {
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
  };
}
