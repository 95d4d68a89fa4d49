// A small typed client for the Docker Engine API over its unix socket: JSON endpoints through Bun's
// fetch (`unix` option), hijacked exec streams through Bun.connect (see exec_stream.ts).
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
}

export type ContainerSummary = {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  Labels: Record<string, string>;
};

export type ContainerInspect = {
  Id: string;
  Name: string;
  Created: string;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Pid: number;
    ExitCode: number;
    Health?: { Status: string };
  };
  Config: { Image: string; Labels: Record<string, string>; Env: string[] | null; User: string };
  HostConfig: Record<string, unknown> & {
    CapDrop: string[] | null;
    CapAdd: string[] | null;
    SecurityOpt: string[] | null;
    ReadonlyRootfs: boolean;
    Privileged: boolean;
    Memory: number;
    NanoCpus: number;
    PidsLimit: number | null;
    Binds: string[] | null;
    Tmpfs: Record<string, string> | null;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    LogConfig: { Type: string; Config: Record<string, string> };
    NetworkMode: string;
    UsernsMode: string;
  };
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
  NetworkSettings: {
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
    Networks: Record<string, { IPAddress: string; NetworkID: string; Gateway: string }>;
  };
};

export type NetworkInspect = {
  Id: string;
  Name: string;
  Options: Record<string, string>;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Labels: Record<string, string>;
};

type Query = Record<string, string | number | boolean | undefined>;

export class DockerClient {
  constructor(readonly socketPath: string) {}

  async request<T>(
    operation: string,
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.size ? `?${params}` : "";
    let response: Response;
    try {
      response = await fetch(`http://docker/${DOCKER_API_VERSION}${path}${qs}`, {
        method,
        unix: this.socketPath,
        headers: opts.body !== undefined ? { "content-type": "application/json" } : undefined,
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      });
    } catch (error) {
      throw new DockerError(
        503,
        `the Docker engine at ${this.socketPath} is not reachable (${(error as Error).message})`,
        operation,
      );
    }
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

  version() {
    return this.request<{ Version: string; ApiVersion: string; Os: string; Arch: string }>(
      "version",
      "GET",
      "/version",
    );
  }
  info() {
    return this.request<{
      SecurityOptions: string[];
      NCPU: number;
      MemTotal: number;
      Containers: number;
      CgroupVersion?: string;
    }>("info", "GET", "/info");
  }
  imageInspect(image: string) {
    return this.request<{ Id: string; Size: number; Config: { User: string } }>(
      "image inspect",
      "GET",
      `/images/${encodeURIComponent(image)}/json`,
    );
  }

  createContainer(name: string, config: Record<string, unknown>) {
    return this.request<{ Id: string }>("container create", "POST", "/containers/create", {
      query: { name },
      body: config,
    });
  }
  startContainer(id: string) {
    return this.request<void>("container start", "POST", `/containers/${id}/start`);
  }
  pauseContainer(id: string) {
    return this.request<void>("container pause", "POST", `/containers/${id}/pause`);
  }
  unpauseContainer(id: string) {
    return this.request<void>("container unpause", "POST", `/containers/${id}/unpause`);
  }
  killContainer(id: string, signal = "SIGKILL") {
    return this.request<void>("container kill", "POST", `/containers/${id}/kill`, { query: { signal } });
  }
  restartContainer(id: string) {
    return this.request<void>("container restart", "POST", `/containers/${id}/restart`, { query: { t: 5 } });
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
      query: { all, filters: JSON.stringify({ label: labels }) },
    });
  }
  containerStats(id: string) {
    return this.request<DockerStats>("container stats", "GET", `/containers/${id}/stats`, {
      query: { stream: false },
    });
  }
  waitContainer(id: string, condition = "not-running") {
    return this.request<{ StatusCode: number }>("container wait", "POST", `/containers/${id}/wait`, {
      query: { condition },
    });
  }

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
      query: { filters: JSON.stringify({ label: labels }) },
    });
  }

  createVolume(config: Record<string, unknown>) {
    return this.request<{ Name: string }>("volume create", "POST", "/volumes/create", { body: config });
  }
  removeVolume(name: string, force = true) {
    return this.request<void>("volume remove", "DELETE", `/volumes/${encodeURIComponent(name)}`, {
      query: { force },
    });
  }
  listVolumes(labels: string[]) {
    return this.request<{ Volumes: { Name: string; Labels: Record<string, string> }[] | null }>(
      "volume list",
      "GET",
      "/volumes",
      {
        query: { filters: JSON.stringify({ label: labels }) },
      },
    );
  }

  createExec(
    containerId: string,
    config: {
      Cmd: string[];
      Tty: boolean;
      AttachStdin: boolean;
      AttachStdout: boolean;
      AttachStderr: boolean;
      Env?: string[];
      User?: string;
      WorkingDir?: string;
    },
  ) {
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

  /** Engine events since now, filtered; the returned function stops the stream. */
  events(
    filters: Record<string, string[]>,
    onEvent: (event: {
      Type: string;
      Action: string;
      Actor: { ID: string; Attributes: Record<string, string> };
    }) => void,
  ) {
    const controller = new AbortController();
    void (async () => {
      const response = await fetch(
        `http://docker/${DOCKER_API_VERSION}/events?filters=${encodeURIComponent(JSON.stringify(filters))}`,
        { unix: this.socketPath, signal: controller.signal },
      );
      const reader = response.body?.getReader();
      if (!reader) return;
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += new TextDecoder().decode(value);
        let newline = buffer.indexOf("\n");
        while (newline >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) onEvent(JSON.parse(line));
          newline = buffer.indexOf("\n");
        }
      }
    })().catch(() => {});
    return () => controller.abort();
  }
}

export type DockerStats = {
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
};
