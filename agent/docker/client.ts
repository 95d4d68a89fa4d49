// A small typed client for the Docker Engine API over its unix socket, on a versioned path (the
// nodes run daemon 20.10, API 1.41). JSON endpoints go through Bun's fetch (`unix` option); hijacked
// exec/attach streams through Bun.connect (hijack.ts). Every engine refusal becomes a DockerError
// carrying the engine's status and message.
import type {
  ContainerInspect,
  ContainerSummary,
  DockerStats,
  EngineEvent,
  EngineInfo,
  EngineVersion,
  ExecConfig,
  ImageInspect,
  ImageSummary,
  NetworkInspect,
  VolumeInspect,
} from "./types.ts";

export type * from "./types.ts";

export const DOCKER_API_VERSION = "v1.41";

export class DockerError extends Error {
  override name = "DockerError";
  constructor(
    readonly status: number,
    message: string,
    readonly operation: string,
  ) {
    super(`${operation}: ${message}`);
  }
  get notFound() {
    return this.status === 404;
  }
  get conflict() {
    return this.status === 409;
  }
  /** The engine itself could not be reached (no socket, daemon down). */
  get unreachable() {
    return this.status === 503;
  }
}

type Query = Record<string, string | number | boolean | undefined>;
const labelFilter = (labels: string[]) => JSON.stringify({ label: labels });

export class DockerClient {
  constructor(readonly socketPath: string) {}

  private url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    return `http://docker/${DOCKER_API_VERSION}${path}${params.size ? `?${params}` : ""}`;
  }

  private async send(operation: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, unix: this.socketPath } as RequestInit);
    } catch (error) {
      throw new DockerError(
        503,
        `the Docker engine at ${this.socketPath} is not reachable (${(error as Error).message})`,
        operation,
      );
    }
  }

  async request<T>(
    operation: string,
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    const response = await this.send(operation, this.url(path, opts.query), {
      method,
      headers: opts.body !== undefined ? { "content-type": "application/json" } : undefined,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {}
      throw new DockerError(response.status, message.trim() || response.statusText, operation);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // System
  ping() {
    return this.send("ping", this.url("/_ping"), {}).then((r) => r.ok);
  }
  version() {
    return this.request<EngineVersion>("version", "GET", "/version");
  }
  info() {
    return this.request<EngineInfo>("info", "GET", "/info");
  }

  // Images (the agent never pulls: images are the operator's business, see templates.ts)
  listImages(labels: string[] = []) {
    return this.request<ImageSummary[]>("image list", "GET", "/images/json", {
      query: labels.length ? { filters: labelFilter(labels) } : {},
    });
  }
  imageInspect(image: string) {
    return this.request<ImageInspect>("image inspect", "GET", `/images/${encodeURIComponent(image)}/json`);
  }

  // Containers
  createContainer(name: string, config: Record<string, unknown>) {
    return this.request<{ Id: string; Warnings: string[] | null }>(
      "container create",
      "POST",
      "/containers/create",
      { query: { name }, body: config },
    );
  }
  startContainer(id: string) {
    return this.request<void>("container start", "POST", `/containers/${id}/start`);
  }
  pauseContainer(id: string) {
    return this.request<void>("container pause", "POST", `/containers/${id}/pause`);
  }
  /** Changes resource limits of a live (running or paused) container. */
  updateContainer(id: string, body: Record<string, unknown>) {
    return this.request<{ Warnings: string[] | null }>(
      "container update",
      "POST",
      `/containers/${id}/update`,
      {
        body,
      },
    );
  }
  unpauseContainer(id: string) {
    return this.request<void>("container unpause", "POST", `/containers/${id}/unpause`);
  }
  killContainer(id: string, signal = "SIGKILL") {
    return this.request<void>("container kill", "POST", `/containers/${id}/kill`, { query: { signal } });
  }
  removeContainer(id: string, opts: { force?: boolean; volumes?: boolean } = {}) {
    return this.request<void>("container remove", "DELETE", `/containers/${id}`, {
      query: { force: opts.force, v: opts.volumes },
    });
  }
  inspectContainer(id: string) {
    return this.request<ContainerInspect>("container inspect", "GET", `/containers/${id}/json`);
  }
  listContainers(labels: string[], all = true) {
    return this.request<ContainerSummary[]>("container list", "GET", "/containers/json", {
      query: { all, filters: labelFilter(labels) },
    });
  }
  containerStats(id: string) {
    return this.request<DockerStats>("container stats", "GET", `/containers/${id}/stats`, {
      query: { stream: false },
    });
  }
  waitContainer(id: string, condition: "not-running" | "next-exit" | "removed" = "not-running") {
    return this.request<{ StatusCode: number }>("container wait", "POST", `/containers/${id}/wait`, {
      query: { condition },
    });
  }
  /** Resizes the TTY of a container created with Tty: true (see attachContainer in hijack.ts). */
  resizeContainer(id: string, cols: number, rows: number) {
    return this.request<void>("container resize", "POST", `/containers/${id}/resize`, {
      query: { h: rows, w: cols },
    });
  }

  // Networks
  createNetwork(config: Record<string, unknown>) {
    return this.request<{ Id: string }>("network create", "POST", "/networks/create", { body: config });
  }
  inspectNetwork(id: string) {
    return this.request<NetworkInspect>("network inspect", "GET", `/networks/${encodeURIComponent(id)}`);
  }
  removeNetwork(id: string) {
    return this.request<void>("network remove", "DELETE", `/networks/${encodeURIComponent(id)}`);
  }
  listNetworks(labels: string[]) {
    return this.request<NetworkInspect[]>("network list", "GET", "/networks", {
      query: { filters: labelFilter(labels) },
    });
  }

  // Volumes
  createVolume(config: { Name: string; Labels: Record<string, string> }) {
    return this.request<VolumeInspect>("volume create", "POST", "/volumes/create", { body: config });
  }
  inspectVolume(name: string) {
    return this.request<VolumeInspect>("volume inspect", "GET", `/volumes/${encodeURIComponent(name)}`);
  }
  removeVolume(name: string, force = true) {
    return this.request<void>("volume remove", "DELETE", `/volumes/${encodeURIComponent(name)}`, {
      query: { force },
    });
  }
  listVolumes(labels: string[]) {
    return this.request<{ Volumes: VolumeInspect[] | null }>("volume list", "GET", "/volumes", {
      query: { filters: labelFilter(labels) },
    });
  }

  // Exec (started as a hijacked stream: startExec in hijack.ts)
  createExec(containerId: string, config: ExecConfig) {
    return this.request<{ Id: string }>("exec create", "POST", `/containers/${containerId}/exec`, {
      body: config,
    });
  }
  resizeExec(execId: string, cols: number, rows: number) {
    return this.request<void>("exec resize", "POST", `/exec/${execId}/resize`, {
      query: { h: rows, w: cols },
    });
  }
  inspectExec(execId: string) {
    return this.request<{ Running: boolean; ExitCode: number | null; Pid: number }>(
      "exec inspect",
      "GET",
      `/exec/${execId}/json`,
    );
  }

  /** Engine events from now on, filtered; the returned function stops the stream. */
  events(filters: Record<string, string[]>, onEvent: (event: EngineEvent) => void): () => void {
    const controller = new AbortController();
    void (async () => {
      const response = await fetch(this.url("/events", { filters: JSON.stringify(filters) }), {
        unix: this.socketPath,
        signal: controller.signal,
      } as RequestInit);
      const reader = response.body?.getReader();
      if (!reader) return;
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let newline = buffer.indexOf("\n");
        while (newline >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) onEvent(JSON.parse(line) as EngineEvent);
          newline = buffer.indexOf("\n");
        }
      }
    })().catch(() => {});
    return () => controller.abort();
  }
}
