// The agent API's routes, declared once: each route's method, path, request and response types, the
// API version both sides speak, and the error codes the agent answers with. The agent's router
// dispatches from this table (a route without a handler does not compile) and the server's client
// builds every request from it, so neither side can drift from the other.
import type {
  AppRelayRequest,
  ContainerInfo,
  ContainerSpec,
  ContainerStats,
  GrowVolumeRequest,
  HealthReport,
  HookRelayRequest,
  HookRelayResponse,
  LiveLimits,
  RestoreRequest,
} from "./contract.ts";

/** Sent on every request as VERSION_HEADER and on every answer; a different version is refused. */
export const AGENT_API_VERSION = "1";
export const VERSION_HEADER = "x-clawfleet-api-version";

export const AGENT_ROUTES = {
  health: { method: "GET", path: "/v1/health" },
  listContainers: { method: "GET", path: "/v1/containers" },
  spawn: { method: "POST", path: "/v1/containers" },
  getContainer: { method: "GET", path: "/v1/containers/:id" },
  removeContainer: { method: "DELETE", path: "/v1/containers/:id" },
  dropContainer: { method: "POST", path: "/v1/containers/:id/drop" },
  freeze: { method: "POST", path: "/v1/containers/:id/freeze" },
  restore: { method: "POST", path: "/v1/containers/:id/restore" },
  updateLimits: { method: "POST", path: "/v1/containers/:id/limits" },
  growVolume: { method: "POST", path: "/v1/containers/:id/volume" },
  stats: { method: "GET", path: "/v1/containers/:id/stats" },
  gateway: { method: "GET", path: "/v1/containers/:id/gateway" },
  terminal: { method: "GET", path: "/v1/containers/:id/terminal" },
  hook: { method: "POST", path: "/v1/containers/:id/hook" },
  app: { method: "POST", path: "/v1/containers/:id/app" },
  appSocket: { method: "GET", path: "/v1/containers/:id/app-socket" },
  listLeftoverVolumes: { method: "GET", path: "/v1/volumes" },
  removeLeftoverVolume: { method: "DELETE", path: "/v1/volumes/:id" },
} as const;

export type AgentRouteName = keyof typeof AGENT_ROUTES;

/** What each route takes and answers (`undefined`: no body; `WebSocket`: an upgrade). */
export type AgentRouteTypes = {
  health: { request: undefined; response: HealthReport };
  listContainers: { request: undefined; response: { containers: ContainerInfo[] } };
  spawn: { request: ContainerSpec; response: ContainerInfo };
  getContainer: { request: undefined; response: ContainerInfo };
  removeContainer: { request: undefined; response: undefined };
  /** The container and its network go; the volume stays (locked, detached) for the next spawn. */
  dropContainer: { request: undefined; response: undefined };
  freeze: { request: undefined; response: ContainerInfo };
  restore: { request: RestoreRequest; response: ContainerInfo };
  updateLimits: { request: LiveLimits; response: ContainerInfo };
  growVolume: { request: GrowVolumeRequest; response: ContainerInfo };
  stats: { request: undefined; response: ContainerStats };
  gateway: { request: undefined; response: WebSocket };
  terminal: { request: undefined; response: WebSocket };
  hook: { request: HookRelayRequest; response: HookRelayResponse };
  app: { request: AppRelayRequest; response: HookRelayResponse };
  appSocket: { request: undefined; response: WebSocket };
  /** Sessions with a volume on the node and no container there. */
  listLeftoverVolumes: { request: undefined; response: { volumes: string[] } };
  removeLeftoverVolume: { request: undefined; response: undefined };
};

export const WEBSOCKET_ROUTES: ReadonlySet<AgentRouteName> = new Set(["gateway", "terminal", "appSocket"]);

/** The concrete path of a route, `:id` filled in. */
export function routePath(name: AgentRouteName, id?: string): string {
  const path: string = AGENT_ROUTES[name].path;
  return id === undefined ? path : path.replace(":id", encodeURIComponent(id));
}

/** Which route a method and path name, with its `:id`; null when none does. */
export function matchRoute(
  method: string,
  pathname: string,
): { name: AgentRouteName; id?: string } | "wrong_method" | null {
  let pathMatched = false;
  for (const [name, route] of Object.entries(AGENT_ROUTES) as [
    AgentRouteName,
    (typeof AGENT_ROUTES)[AgentRouteName],
  ][]) {
    const pattern = new RegExp(`^${route.path.replace(":id", "([^/]+)")}$`);
    const found = pattern.exec(pathname);
    if (!found) continue;
    pathMatched = true;
    if (route.method === method) return { name, id: found[1] };
  }
  return pathMatched ? "wrong_method" : null;
}

/** Every code the agent puts in `{error: {code, message}}`; the server may branch on any of them. */
export const AGENT_ERROR_CODES = [
  "unauthorized",
  "version_mismatch",
  "invalid_json",
  "invalid_spec",
  "invalid_limits",
  "unknown_template",
  "upgrade_failed",
  "not_found",
  "method_not_allowed",
  "paused",
  "removed",
  "image_missing",
  "no_port",
  "too_large",
  "upgrade_required",
  "internal",
  "container_exited",
  "docker_error",
  "node_out_of_networks",
  "not_ready",
  "volume_key_required",
  "invalid_volume_key",
  "volume_key_mismatch",
  "volume_missing",
  "node_out_of_disk",
  "no_bridge_address",
  "no_webhook",
  "no_app",
  "container_unreachable",
  "busy",
] as const;

export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

export type AgentErrorBody = { error: { code: AgentErrorCode; message: string } };
