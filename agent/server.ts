// The agent's HTTPS API (DESIGN.md "Agent API"): every request, WebSocket upgrades included, must be
// signed with a cluster secret; the agent serves its own certificate, which the server pins.
import type { Server, ServerWebSocket } from "bun";
import { createLogger, type Logger } from "../src/log.ts";
import {
  type ContainerInfo,
  type HealthReport,
  parseContainerSpec,
  RequestVerifier,
} from "./api/contract.ts";
import type { AgentConfig } from "./config.ts";
import { nodeSecret } from "./config.ts";
import { AgentError, ContainerManager } from "./containers.ts";
import { DockerClient, DockerError } from "./docker/client.ts";
import { installFirewall, listRules } from "./firewall.ts";
import { loadTemplates } from "./templates.ts";
import { openTerminal } from "./terminal.ts";
import { ensureCertificate } from "./tls.ts";

export type RunningAgent = {
  url: string;
  port: number;
  fingerprint: string;
  nodeId: string;
  manager: ContainerManager;
  stop(): Promise<void>;
};

type WsData =
  | {
      kind: "gateway";
      target: { url: string; token: string };
      upstream?: WebSocket;
      pending: (string | Uint8Array<ArrayBuffer>)[];
    }
  | {
      kind: "terminal";
      target: { containerId: string; shell: string[] };
      term?: Awaited<ReturnType<typeof openTerminal>>;
      pending: (string | Uint8Array<ArrayBuffer>)[];
    };

const MAX_BODY = 64 * 1024;

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
function fail(status: number, code: string, message: string) {
  return json(status, { error: { code, message } });
}

export class IsolationUnavailableError extends Error {}

export async function startAgent(
  config: AgentConfig,
  log: Logger = createLogger("info", { service: "agent" }),
): Promise<RunningAgent> {
  const docker = new DockerClient(config.dockerSocket);
  const [version, info] = await Promise.all([docker.version(), docker.info()]);
  const security = info.SecurityOptions.join(" ");
  const isolation = {
    usernsRemap: security.includes("name=userns"),
    seccomp: security.includes("name=seccomp"),
    apparmor: security.includes("name=apparmor"),
    rootful: !security.includes("name=userns"),
  };
  if (!isolation.usernsRemap && !config.allowRootful) {
    throw new IsolationUnavailableError(
      "the Docker daemon does not run with userns-remap: container root would be host root. Enable it (deploy/daemon.json) or pass --allow-rootful",
    );
  }
  if (config.firewall) installFirewall(config.blocked);
  const tls = ensureCertificate(config.dataDir, config.tls);
  const templates = loadTemplates(config.templatesJson);
  const manager = new ContainerManager({
    docker,
    nodeId: config.nodeId,
    templates,
    host: { apparmor: isolation.apparmor },
    gatewaySecret: nodeSecret(config.dataDir),
    log,
  });
  const found = await manager.list();
  log.info("agent found its containers", { count: found.length, node: config.nodeId });
  await manager.sweepNetworks().catch((error) => log.warn("network sweep failed", { error }));

  const verifier = new RequestVerifier(config.clusterKeys);

  async function route(request: Request, server: Server<WsData>): Promise<Response | undefined> {
    const url = new URL(request.url);
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > MAX_BODY) return fail(413, "too_large", "request body too large");
    const verdict = await verifier.verify(
      request.method,
      `${url.pathname}${url.search}`,
      request.headers,
      body,
    );
    if (!verdict.ok) {
      log.warn("refused an unsigned or badly signed request", { reason: verdict.reason, path: url.pathname });
      return fail(401, "unauthorized", "request signature rejected");
    }
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "v1") return fail(404, "not_found", "no such route");
    if (parts[1] === "health" && parts.length === 2 && request.method === "GET") {
      const containers = await manager.list();
      const report: HealthReport & { firewall: string[] } = {
        nodeId: config.nodeId,
        dockerVersion: version.Version,
        capacity: config.capacity,
        containers: containers.length,
        isolation,
        firewall: config.firewall ? listRules() : [],
      };
      return json(200, report);
    }
    if (parts[1] !== "containers") return fail(404, "not_found", "no such route");
    if (parts.length === 2) {
      if (request.method === "GET") return json(200, { containers: await manager.list() });
      if (request.method === "POST") {
        let input: unknown;
        try {
          input = JSON.parse(new TextDecoder().decode(body));
        } catch {
          return fail(400, "invalid_json", "body must be JSON");
        }
        const spec = parseContainerSpec(input);
        if (typeof spec === "string") return fail(400, "invalid_spec", spec);
        const created: ContainerInfo = await manager.spawn(spec);
        return json(201, created);
      }
      return fail(405, "method_not_allowed", "use GET or POST");
    }
    const sessionId = parts[2] ?? "";
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(sessionId)) {
      return fail(404, "not_found", "no such container");
    }
    const action = parts[3];
    if (parts.length === 3) {
      if (request.method === "GET") {
        const found = await manager.get(sessionId);
        return found ? json(200, found) : fail(404, "not_found", "no such container");
      }
      if (request.method === "DELETE") {
        await manager.remove(sessionId);
        return new Response(null, { status: 204 });
      }
      return fail(405, "method_not_allowed", "use GET or DELETE");
    }
    if (parts.length !== 4) return fail(404, "not_found", "no such route");
    if (request.method === "POST" && (action === "freeze" || action === "restore")) {
      if (action === "freeze") await manager.freeze(sessionId);
      else await manager.restore(sessionId);
      return json(200, await manager.get(sessionId));
    }
    if (request.method === "GET" && action === "stats") return json(200, await manager.stats(sessionId));
    if (request.method === "GET" && (action === "gateway" || action === "terminal")) {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
        return fail(426, "upgrade_required", "WebSocket only");
      const data: WsData =
        action === "gateway"
          ? { kind: "gateway", target: await manager.gatewayTarget(sessionId), pending: [] }
          : { kind: "terminal", target: await manager.terminalTarget(sessionId), pending: [] };
      if (server.upgrade(request, { data })) return undefined;
      return fail(400, "upgrade_failed", "WebSocket upgrade failed");
    }
    return fail(404, "not_found", "no such route");
  }

  const closeCode = (code: number) =>
    code === 1005 || code === 1006 || code < 1000 || code > 4999 ? 1011 : code;

  const server = Bun.serve<WsData, never>({
    hostname: config.listen.host,
    port: config.listen.port,
    tls: { cert: Bun.file(tls.certPath), key: Bun.file(tls.keyPath) },
    maxRequestBodySize: MAX_BODY,
    async fetch(request, srv) {
      try {
        return await route(request, srv);
      } catch (error) {
        if (error instanceof AgentError) return fail(error.status, error.code, error.message);
        if (error instanceof DockerError && /address pool/.test(error.message)) {
          log.error("docker has no network addresses left: set default-address-pools (deploy/daemon.json)");
          return fail(503, "node_out_of_networks", "this node cannot create more container networks");
        }
        if (error instanceof DockerError) {
          log.warn("docker refused", { error: error.message });
          return fail(
            error.status === 404 ? 404 : error.status === 409 ? 409 : 502,
            "docker_error",
            error.message,
          );
        }
        log.error("agent request failed", { error });
        return fail(500, "internal", "the agent failed to handle the request");
      }
    },
    websocket: {
      async open(ws: ServerWebSocket<WsData>) {
        const data = ws.data;
        if (data.kind === "gateway") {
          const upstream = new WebSocket(data.target.url, {
            headers: { authorization: `Bearer ${data.target.token}` },
          } as never);
          upstream.binaryType = "arraybuffer";
          data.upstream = upstream;
          upstream.addEventListener("open", () => {
            for (const frame of data.pending.splice(0)) upstream.send(frame);
          });
          upstream.addEventListener("message", (e) => {
            ws.send(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
          });
          upstream.addEventListener("close", (e) => ws.close(closeCode(e.code), e.reason));
          upstream.addEventListener("error", () => ws.close(1011, "container gateway unreachable"));
        } else {
          try {
            data.term = await openTerminal(docker, data.target.containerId, data.target.shell, {
              send: (bytes) => ws.send(bytes),
              close: (code, reason) => ws.close(code, reason),
            });
            for (const frame of data.pending.splice(0)) data.term.input(frame);
          } catch (error) {
            log.warn("terminal failed to start", { error });
            ws.close(1011, "terminal failed to start");
          }
        }
      },
      message(ws, message) {
        const data = ws.data;
        const frame = typeof message === "string" ? message : new Uint8Array(message);
        if (data.kind === "gateway") {
          if (data.upstream?.readyState === WebSocket.OPEN && data.pending.length === 0)
            data.upstream.send(frame);
          else data.pending.push(frame);
        } else if (data.term) data.term.input(frame);
        else data.pending.push(frame);
      },
      close(ws, code, reason) {
        const data = ws.data;
        if (data.kind === "gateway") data.upstream?.close(closeCode(code), reason);
        else data.term?.close();
      },
    },
  });

  log.info("agent listening", { port: server.port, node: config.nodeId, fingerprint: tls.fingerprint });
  return {
    url: `https://${config.listen.host === "0.0.0.0" ? "127.0.0.1" : config.listen.host}:${server.port}`,
    port: server.port ?? config.listen.port,
    fingerprint: tls.fingerprint,
    nodeId: config.nodeId,
    manager,
    async stop() {
      await server.stop(true);
    },
  };
}
