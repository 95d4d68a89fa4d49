// The one place the hardened container configuration is built. Whatever the caller asked for, every
// container gets: no capabilities, no-new-privileges, clawfleet's seccomp profile (agent/seccomp.ts:
// stricter than Docker's default) and AppArmor's docker-default where the host has AppArmor, a
// read-only root with a small tmpfs /tmp, memory / CPU / pids limits from the plan, nofile and nproc
// ulimits, no host mounts but one: its own encrypted volume (a bind mount of the directory where the
// agent mounted the session's ext4 image, agent/volumes/), never the Docker socket, its gateway
// published on 127.0.0.1 only, its own bridge network with ICC off, on-failure restarts (at most 5),
// bounded logs, and labels tying it to its session and node.
import type { ContainerSpec, LiveLimits } from "./api/contract.ts";
import { SECCOMP_PROFILE } from "./seccomp.ts";
import type { Template } from "./templates.ts";

export const LABELS = {
  managed: "clawfleet.managed",
  session: "clawfleet.session",
  node: "clawfleet.node",
  template: "clawfleet.template",
  /** On a warm-pool network: made ahead of any spawn, not yet anyone's (agent/spawn/network_pool.ts). */
  pool: "clawfleet.pool",
  /** On a container: the network it runs on (a pooled one carries no session label of its own). */
  network: "clawfleet.network",
  /** On a warm-pool network's sandbox: the container that holds its network namespace (no session). */
  sandbox: "clawfleet.sandbox",
} as const;

export const BRIDGE_PREFIX = "cf-";

export function containerName(sessionId: string) {
  return `clawfleet-${sessionId}`;
}
export function volumeName(sessionId: string) {
  return `clawfleet-data-${sessionId}`;
}
export function networkName(sessionId: string) {
  return `clawfleet-net-${sessionId}`;
}
/** Linux interface names stop at 15 characters; the prefix lets the firewall match every bridge. */
export function bridgeName(sessionId: string) {
  return `${BRIDGE_PREFIX}${sessionId.replaceAll("-", "").slice(0, 12)}`;
}
/** A warm-pool network's id: "p" and 11 hex digits ("p" is never hex, so no session's bridge clashes). */
export function poolNetworkId() {
  return `p${crypto.randomUUID().replaceAll("-", "").slice(0, 11)}`;
}
export function poolNetworkName(poolId: string) {
  return `clawfleet-pool-${poolId}`;
}
export function isPoolNetwork(name: string) {
  return name.startsWith(poolNetworkName(""));
}
/** The sandbox of a warm-pool network (agent/spawn/sandbox.ts), named after it. */
export function sandboxName(network: string) {
  return `${network}-sandbox`;
}

export function labelsFor(sessionId: string, nodeId: string, template: string) {
  return {
    [LABELS.managed]: "1",
    [LABELS.session]: sessionId,
    [LABELS.node]: nodeId,
    [LABELS.template]: template,
  };
}

/** Every container network, a session's own or a warm-pool one: a bridge of its own, ICC off. */
function bridgeNetwork(name: string, bridge: string, labels: Record<string, string>) {
  return {
    Name: name,
    Driver: "bridge",
    CheckDuplicate: true,
    Internal: false,
    Options: {
      "com.docker.network.bridge.enable_icc": "false",
      "com.docker.network.bridge.name": bridge,
      "com.docker.network.bridge.enable_ip_masquerade": "true",
    },
    Labels: labels,
  };
}

export function networkConfig(sessionId: string, nodeId: string, template: string) {
  return bridgeNetwork(networkName(sessionId), bridgeName(sessionId), labelsFor(sessionId, nodeId, template));
}

/** The same network made ahead of time: no session yet, so no session label (LABELS.network ties it). */
export function poolNetworkConfig(poolId: string, nodeId: string) {
  return bridgeNetwork(poolNetworkName(poolId), `${BRIDGE_PREFIX}${poolId}`, {
    [LABELS.managed]: "1",
    [LABELS.node]: nodeId,
    [LABELS.pool]: "1",
  });
}

export type HostSecurity = { apparmor: boolean };

/** The plan's memory (no swap beyond it), CPU and pids limits: at creation and in a live update. */
export function resourceLimits(limits: LiveLimits) {
  const memory = limits.memoryMb * 1024 * 1024;
  return {
    Memory: memory,
    MemorySwap: memory,
    NanoCpus: limits.cpuMillis * 1_000_000,
    PidsLimit: limits.pidsLimit,
  };
}

/**
 * Open files: plenty for a runtime with many sockets, far below the node's own limit. Processes:
 * the plan's pids limit again (on this kernel RLIMIT_NPROC is counted per user namespace, so per
 * container even though userns-remap maps every container's uid 1000 to the same host uid).
 */
export const NOFILE_LIMIT = 4096;

function securityOptions(host: HostSecurity) {
  return [
    "no-new-privileges:true",
    `seccomp=${SECCOMP_PROFILE}`,
    ...(host.apparmor ? ["apparmor=docker-default"] : []),
  ];
}

const LOG_CONFIG = { Type: "json-file", Config: { "max-size": "5m", "max-file": "2" } };

/**
 * A warm-pool network's sandbox (agent/spawn/sandboxes.ts): one sleeping process holding a network
 * namespace on the network, with the default template's port published on 127.0.0.1, so a spawn's
 * container joins a namespace that is ready instead of waiting while Docker makes one. It never runs a
 * tenant's code and is hardened like a user container, with tiny limits, no mounts and no restarts.
 */
export function sandboxConfig(opts: {
  network: string;
  nodeId: string;
  image: string;
  user: string;
  port: number;
  host: HostSecurity;
  /** The image's VOLUME paths: each gets an empty read-only tmpfs instead of an anonymous volume. */
  imageVolumes: string[];
}) {
  const port = `${opts.port}/tcp`;
  return {
    Image: opts.image,
    Entrypoint: ["sleep"],
    Cmd: ["infinity"],
    User: opts.user,
    Env: [],
    Labels: { [LABELS.node]: opts.nodeId, [LABELS.sandbox]: "1", [LABELS.network]: opts.network },
    ExposedPorts: { [port]: {} },
    HostConfig: {
      NetworkMode: opts.network,
      CapDrop: ["ALL"],
      CapAdd: [],
      Privileged: false,
      SecurityOpt: securityOptions(opts.host),
      ReadonlyRootfs: true,
      Tmpfs: Object.fromEntries(opts.imageVolumes.map((path) => [path, "ro,size=4k,noexec,nosuid,nodev"])),
      ...resourceLimits({ memoryMb: 16, cpuMillis: 100, pidsLimit: 8 }),
      PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
      LogConfig: LOG_CONFIG,
      IpcMode: "private",
    },
  };
}

/**
 * `providerEnv`: the provider gateway's base URLs and the per-container credential in the template's
 * key variables (never a key: keys stay in the agent, see provider_gateway/).
 */
export function containerConfig(opts: {
  spec: ContainerSpec;
  template: Template;
  nodeId: string;
  gatewayToken: string;
  host: HostSecurity;
  /** The host directory of the session's mounted volume (VolumeManager.dataPath). */
  dataSource: string;
  /** The container's own network: its session's, or a warm-pool one handed to it alone. */
  network: string;
  /**
   * The started sandbox whose network namespace (on `network`, with the port published) the container
   * joins instead of having its own made at start (agent/spawn/sandbox.ts); null: its own.
   */
  sandbox?: string | null;
  providerEnv: Record<string, string>;
  extraLabels: Record<string, string>;
}) {
  const { spec, template, nodeId, gatewayToken, host, dataSource } = opts;
  const env: string[] = [];
  for (const [key, value] of Object.entries(template.env ?? {})) env.push(`${key}=${value}`);
  for (const [key, value] of Object.entries(opts.providerEnv)) {
    if (!(key in (template.env ?? {}))) env.push(`${key}=${value}`);
  }
  env.push(`${template.tokenEnv}=${gatewayToken}`);
  if (template.nodeHeap) {
    env.push(`NODE_OPTIONS=--max-old-space-size=${Math.max(64, Math.floor(spec.limits.memoryMb * 0.75))}`);
  }
  const port = `${template.port}/tcp`;
  // In the sandbox's namespace the sandbox publishes the port; Docker refuses ports on a joiner.
  const networking = opts.sandbox
    ? { ExposedPorts: {}, NetworkMode: `container:${opts.sandbox}`, PortBindings: {} }
    : {
        ExposedPorts: { [port]: {} },
        NetworkMode: opts.network,
        PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
      };
  return {
    Image: template.image,
    ...(template.command ? { Cmd: template.command } : {}),
    User: template.user,
    Env: env,
    Labels: {
      ...labelsFor(spec.sessionId, nodeId, template.name),
      [LABELS.network]: opts.network,
      ...opts.extraLabels,
    },
    ExposedPorts: networking.ExposedPorts,
    NetworkDisabled: false,
    HostConfig: {
      NetworkMode: networking.NetworkMode,
      CapDrop: ["ALL"],
      CapAdd: [],
      Privileged: false,
      SecurityOpt: securityOptions(host),
      Ulimits: [
        { Name: "nofile", Soft: NOFILE_LIMIT, Hard: NOFILE_LIMIT },
        { Name: "nproc", Soft: spec.limits.pidsLimit, Hard: spec.limits.pidsLimit },
      ],
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=64m" },
      ...resourceLimits(spec.limits),
      Mounts: [
        // A `Mounts` bind (unlike `Binds`) fails when its source is missing, so a container can never
        // start on the bare mount point of a volume that is not attached. rprivate: nothing mounted
        // inside propagates back to the host.
        {
          Type: "bind",
          Source: dataSource,
          Target: template.dataPath,
          ReadOnly: false,
          BindOptions: { Propagation: "rprivate" },
        },
      ],
      Binds: [],
      PortBindings: networking.PortBindings,
      PublishAllPorts: false,
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: 5 },
      LogConfig: LOG_CONFIG,
      IpcMode: "private",
      Init: false,
    },
  };
}
