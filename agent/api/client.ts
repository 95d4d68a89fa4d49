// The control plane's client for one node agent: every request signed (contract.ts), every connection
// pinned to the agent's certificate fingerprint. Pinning: the first connection reads the peer
// certificate, checks its SHA-256 against the pin, and from then on that exact certificate is the
// only trusted CA for this agent (its host name is not checked: the pin is the identity).
import type { ClusterKey, ContainerInfo, ContainerSpec, LiveLimits, RestoreRequest } from "./contract.ts";
import { signRequest } from "./contract.ts";
import {
  AGENT_API_VERSION,
  AGENT_ROUTES,
  type AgentErrorBody,
  type AgentRouteName,
  type AgentRouteTypes,
  routePath,
  VERSION_HEADER,
} from "./route_table.ts";

export class AgentRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class PinMismatchError extends Error {}

type TlsOptions = { ca: string; checkServerIdentity: () => undefined };

function derToPem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

export async function fetchPinnedCertificate(url: string, fingerprint: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const peer = await new Promise<{ raw: Buffer; fingerprint256: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new AgentRequestError(503, "unreachable", `no TLS handshake with ${url}`)),
      5000,
    );
    Bun.connect({
      hostname: hostname.replace(/^\[|\]$/g, ""),
      port: Number(port || 443),
      tls: { rejectUnauthorized: false },
      socket: {
        handshake(socket) {
          clearTimeout(timer);
          resolve(socket.getPeerCertificate() as unknown as { raw: Buffer; fingerprint256: string });
          socket.end();
        },
        data() {},
        error(_socket, error) {
          clearTimeout(timer);
          reject(new AgentRequestError(503, "unreachable", error.message));
        },
        connectError(_socket, error) {
          clearTimeout(timer);
          reject(new AgentRequestError(503, "unreachable", error.message));
        },
      },
    }).catch((error: Error) => {
      clearTimeout(timer);
      reject(new AgentRequestError(503, "unreachable", error.message));
    });
  });
  const seen = peer.fingerprint256.replaceAll(":", "").toLowerCase();
  if (
    seen !==
    fingerprint
      .replaceAll(":", "")
      .replace(/^sha256/, "")
      .toLowerCase()
  ) {
    throw new PinMismatchError(
      `the agent at ${url} presented a certificate that does not match its pinned fingerprint`,
    );
  }
  return derToPem(new Uint8Array(peer.raw));
}

export class AgentClient {
  private tls: Promise<TlsOptions> | null = null;

  /** `nodeId` set: `keys` are that node's own secrets and requests are signed v2 for it alone. */
  constructor(
    readonly opts: { url: string; fingerprint: string; keys: ClusterKey[]; nodeId?: string | null },
  ) {}

  private tlsOptions(): Promise<TlsOptions> {
    this.tls ??= fetchPinnedCertificate(this.opts.url, this.opts.fingerprint)
      .then((ca) => ({ ca, checkServerIdentity: () => undefined }))
      .catch((error) => {
        this.tls = null;
        throw error;
      });
    return this.tls;
  }

  private key(): ClusterKey {
    const key = this.opts.keys[0];
    if (!key)
      throw new AgentRequestError(500, "no_cluster_secret", "CLAWFLEET_CLUSTER_SECRETS is not configured");
    return key;
  }

  /** Calls one route of the contract's table, signed, with the API version. */
  async call<N extends AgentRouteName>(
    name: N,
    id?: string,
    body?: AgentRouteTypes[N]["request"],
    timeoutMs = 120_000,
  ): Promise<AgentRouteTypes[N]["response"]> {
    const { method } = AGENT_ROUTES[name];
    const path = routePath(name, id);
    const payload = body === undefined ? "" : JSON.stringify(body);
    const headers = await signRequest(
      this.key(),
      method,
      path,
      payload,
      Date.now(),
      this.opts.nodeId ?? null,
    );
    headers[VERSION_HEADER] = AGENT_API_VERSION;
    if (payload) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(`${this.opts.url}${path}`, {
        method,
        headers,
        body: payload || undefined,
        tls: await this.tlsOptions(),
        signal: AbortSignal.timeout(timeoutMs),
      } as RequestInit);
    } catch (error) {
      if (error instanceof PinMismatchError || error instanceof AgentRequestError) throw error;
      this.tls = null;
      throw new AgentRequestError(
        503,
        "unreachable",
        `agent ${this.opts.url} unreachable: ${(error as Error).message}`,
      );
    }
    const version = response.headers.get(VERSION_HEADER);
    if (version !== AGENT_API_VERSION) {
      await response.body?.cancel();
      throw new AgentRequestError(
        502,
        "version_mismatch",
        `the agent at ${this.opts.url} speaks API version ${version ?? "unknown"}, this server ${AGENT_API_VERSION}: run the same clawfleet release on both`,
      );
    }
    if (response.status === 204) return undefined as AgentRouteTypes[N]["response"];
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    if (!response.ok) {
      const err = (parsed as Partial<AgentErrorBody> | null)?.error;
      throw new AgentRequestError(
        response.status,
        err?.code ?? "agent_error",
        err?.message ?? `agent answered ${response.status}`,
      );
    }
    return parsed as AgentRouteTypes[N]["response"];
  }

  health() {
    return this.call("health", undefined, undefined, 10_000);
  }
  spawn(spec: ContainerSpec) {
    return this.call("spawn", undefined, spec);
  }
  async get(sessionId: string): Promise<ContainerInfo | null> {
    try {
      return await this.call("getContainer", sessionId, undefined, 10_000);
    } catch (error) {
      if (error instanceof AgentRequestError && error.status === 404) return null;
      throw error;
    }
  }
  async list(): Promise<ContainerInfo[]> {
    return (await this.call("listContainers", undefined, undefined, 30_000)).containers;
  }
  /** The container's info; `wakeAt` when its runtime asked to be restored at a time. */
  async freeze(sessionId: string): Promise<ContainerInfo | null> {
    return (await this.call("freeze", sessionId)) as ContainerInfo | null;
  }
  async restore(sessionId: string, body: RestoreRequest = {}) {
    await this.call("restore", sessionId, body);
  }
  growVolume(sessionId: string, diskMb: number) {
    return this.call("growVolume", sessionId, { diskMb });
  }
  async updateLimits(sessionId: string, limits: LiveLimits) {
    await this.call("updateLimits", sessionId, limits);
  }
  async remove(sessionId: string) {
    await this.call("removeContainer", sessionId);
  }
  async drop(sessionId: string) {
    await this.call("dropContainer", sessionId);
  }
  stats(sessionId: string) {
    return this.call("stats", sessionId, undefined, 10_000);
  }
  async leftoverVolumes(): Promise<string[]> {
    return (await this.call("listLeftoverVolumes", undefined, undefined, 30_000)).volumes;
  }
  async removeLeftoverVolume(sessionId: string) {
    await this.call("removeLeftoverVolume", sessionId, undefined, 30_000);
  }

  /**
   * A signed, pinned WebSocket to a container's gateway or terminal (`extra`: the shell to reattach),
   * or to its app's own socket (`extra`: the path in the container).
   */
  async connect(
    sessionId: string,
    kind: "gateway" | "terminal" | "appSocket",
    extra?: string,
  ): Promise<WebSocket> {
    const query =
      kind === "terminal" && extra
        ? `?reconnect=${encodeURIComponent(extra)}`
        : kind === "appSocket"
          ? `?path=${encodeURIComponent(extra ?? "/")}`
          : "";
    const path = `${routePath(kind, sessionId)}${query}`;
    const headers = await signRequest(this.key(), "GET", path, "", Date.now(), this.opts.nodeId ?? null);
    headers[VERSION_HEADER] = AGENT_API_VERSION;
    const wsUrl = `${this.opts.url.replace(/^https:/, "wss:")}${path}`;
    return new WebSocket(wsUrl, { headers, tls: await this.tlsOptions() } as never);
  }
}
