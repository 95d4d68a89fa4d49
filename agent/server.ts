// startAgent: the node agent's start-up and its HTTPS server. Start-up checks the Docker engine
// (reachable, userns-remap unless --allow-rootful), installs the firewall, loads or creates the TLS
// certificate, rediscovers the node's containers by label, and serves the signed API (routes.ts).
// The server's all-in-one mode and the tests call it in-process; agent/main.ts is the CLI around it.
import { chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import type { ServerWebSocket } from "bun";
import { ConfigError } from "../common/config_error.ts";
import { createLogger, type Logger } from "../common/log.ts";
import { noDebugPages } from "../common/no_debug_pages.ts";
import { frameOf, MAX_FRAME } from "../common/ws_relay.ts";
import { type HealthReport, HOOK_RELAY_MAX_BYTES, RequestVerifier } from "./api/contract.ts";
import { apiSocketPath } from "./api_socket.ts";
import type { AgentConfig } from "./config.ts";
import { nodeSecret } from "./config.ts";
import { ContainerManager } from "./containers.ts";
import { DockerClient, DockerError } from "./docker/client.ts";
import { FirewallError, installFirewall, listRules } from "./firewall.ts";
import { startFront } from "./front.ts";
import { OpenSockets } from "./open_sockets.ts";
import { ProviderGateway } from "./provider_gateway/gateway.ts";
import { ServerChannel, type ServerLink } from "./provider_gateway/server_channel.ts";
import { createRouter, type WsData } from "./routes.ts";
import { NetworkPool } from "./spawn/network_pool.ts";
import { Sandboxes, sandboxSpec } from "./spawn/sandboxes.ts";
import { Shells } from "./terminal_shell.ts";
import { ensureCertificate } from "./tls.ts";
import { probeEncryptedVolumes } from "./volumes/probe.ts";
import { VolumeManager } from "./volumes/volumes.ts";

export type RunningAgent = {
  url: string;
  port: number;
  fingerprint: string;
  nodeId: string;
  /** Where its certificate, node id and node secret live. */
  dataDir: string;
  manager: ContainerManager;
  providerGateway: ProviderGateway;
  /** Where the provider gateway asks for keys (all-in-one: the server's in-process handler). */
  connectServer(link: ServerLink): void;
  stop(): Promise<void>;
};

export class IsolationUnavailableError extends Error {}

type EngineFacts = {
  version: string;
  isolation: Omit<HealthReport["isolation"], "encryptedVolumes">;
  liveRestore: boolean;
  /** Host ids of container uid/gid 0: the remap's first ids, or 0 on a rootful daemon. */
  idOffset: { uid: number; gid: number };
};

async function checkEngine(docker: DockerClient, config: AgentConfig, log: Logger): Promise<EngineFacts> {
  let version: Awaited<ReturnType<DockerClient["version"]>>;
  let info: Awaited<ReturnType<DockerClient["info"]>>;
  try {
    [version, info] = await Promise.all([docker.version(), docker.info()]);
  } catch (error) {
    if (error instanceof DockerError && error.unreachable)
      throw new ConfigError(`DOCKER_SOCKET: no Docker engine answers at ${config.dockerSocket}`);
    throw error;
  }
  const security = info.SecurityOptions.join(" ");
  const usernsRemap = security.includes("name=userns");
  if (!usernsRemap && !config.allowRootful) {
    throw new IsolationUnavailableError(
      "the Docker daemon does not run with userns-remap: container root would be host root. Enable it (deploy/daemon.json) or pass --allow-rootful",
    );
  }
  if (!usernsRemap) log.warn("running with --allow-rootful: container root is host root");
  if (!info.LiveRestoreEnabled)
    log.warn("the daemon's live-restore is off: containers stop when dockerd restarts (deploy/daemon.json)");
  if (!config.firewall)
    log.warn("CLAWFLEET_AGENT_FIREWALL=off: containers' network paths are not restricted");
  return {
    version: version.Version,
    isolation: {
      usernsRemap,
      seccomp: security.includes("name=seccomp"),
      apparmor: security.includes("name=apparmor"),
      rootful: !usernsRemap,
      firewall: config.firewall,
    },
    liveRestore: info.LiveRestoreEnabled,
    idOffset: remapOffset(usernsRemap, info.DockerRootDir),
  };
}

function remapOffset(usernsRemap: boolean, rootDir: string | undefined) {
  const m = /\/(\d+)\.(\d+)$/.exec(rootDir ?? "");
  if (!usernsRemap) return { uid: 0, gid: 0 };
  if (!m)
    throw new IsolationUnavailableError(`cannot tell the userns-remap ids from DockerRootDir ${rootDir}`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

/** Encrypted volumes or, with --allow-unencrypted-volumes, plaintext ones (still size-limited). */
async function volumeManager(config: AgentConfig, log: Logger): Promise<VolumeManager> {
  const root = join(config.dataDir, "volumes");
  const problem = await probeEncryptedVolumes(root);
  if (!problem) return new VolumeManager(root, true, log, config.warmPool);
  if (!config.allowUnencryptedVolumes)
    throw new IsolationUnavailableError(
      `this host cannot make encrypted volumes (${problem}); install e2fsprogs on a kernel with ext4 encryption (deploy/install-agent.sh) or pass --allow-unencrypted-volumes`,
    );
  log.warn("running with --allow-unencrypted-volumes: container data is stored in plaintext", { problem });
  return new VolumeManager(root, false, log, config.warmPool);
}

export async function startAgent(
  config: AgentConfig,
  log: Logger = createLogger(config.logLevel, { service: "agent" }),
  /** Set when the caller links the server in-process after start (the all-in-one server does). */
  options: { serverLinkedInProcess?: boolean } = {},
): Promise<RunningAgent> {
  const docker = new DockerClient(config.dockerSocket);
  const engine = await checkEngine(docker, config, log);
  if (config.firewall) {
    try {
      installFirewall(config.blocked, undefined, undefined, config.providerGateway.port, config.egressAllow);
    } catch (error) {
      if (!(error instanceof FirewallError)) throw error;
      throw new ConfigError(
        `CLAWFLEET_AGENT_FIREWALL: the container firewall could not be installed (${error.message}); run the agent as root on a host with iptables`,
      );
    }
  }
  const tls = await ensureCertificate(config.dataDir, config.tls);
  const volumes = await volumeManager(config, log);
  const isolation = { ...engine.isolation, encryptedVolumes: volumes.encrypt };
  let serverLink: ServerLink = { url: config.providerGateway.serverUrl, fetch };
  const upstreamCa = config.providerGateway.upstreamCa;
  const providerGateway = new ProviderGateway({
    port: config.providerGateway.port,
    source: new ServerChannel({
      link: () => serverLink,
      keys: config.clusterKeys,
      node: config.nodeKeys[0] ? { nodeId: config.nodeId, key: config.nodeKeys[0] } : null,
      ca: config.providerGateway.serverCa,
    }),
    upstreams: config.providerGateway.upstreams,
    // An extra CA is trusted beside the system roots, not instead of them.
    ca: upstreamCa ? [...rootCertificates, upstreamCa].join("\n") : null,
    log,
  });
  if (!serverLink.url && !options.serverLinkedInProcess)
    log.warn("CLAWFLEET_SERVER_URL is not set: containers' provider requests will fail");
  const sandboxes = new Sandboxes({
    docker,
    nodeId: config.nodeId,
    spec: sandboxSpec(config.templates, { apparmor: engine.isolation.apparmor }),
    log,
  });
  const networks = new NetworkPool({ docker, nodeId: config.nodeId, size: config.warmPool, sandboxes, log });
  const manager = new ContainerManager({
    networks,
    sandboxes,
    docker,
    nodeId: config.nodeId,
    templates: config.templates,
    host: { apparmor: engine.isolation.apparmor },
    gatewaySecret: nodeSecret(config.dataDir),
    volumes,
    idOffset: engine.idOffset,
    providerGateway,
    log,
  });

  // Reconciliation: state lives in Docker, so a restarted agent simply finds its containers again.
  const found = await manager.list();
  log.info("agent found its containers", { count: found.length, node: config.nodeId });
  await manager.sweepNetworks().catch((error) => log.warn("network sweep failed", { error }));
  // In the background: the first spawns simply make their own network while it fills.
  void networks.refill();
  await manager
    .openProviderGateways()
    .catch((error) => log.warn("provider gateway listeners not reopened", { error }));

  const health = async (): Promise<HealthReport> => ({
    nodeId: config.nodeId,
    dockerVersion: engine.version,
    capacity: config.capacity,
    containers: (await manager.list()).length,
    isolation,
    liveRestore: engine.liveRestore,
    firewall: config.firewall ? listRules() : [],
  });
  const sockets = new OpenSockets();
  const router = createRouter({
    verifier: new RequestVerifier({
      cluster: config.clusterKeys,
      node: { nodeId: config.nodeId, keys: config.nodeKeys },
    }),
    manager,
    docker,
    health,
    sockets,
    shells: new Shells(docker, config.terminalLingerMs, log),
    log,
  });

  // The API server listens on a unix socket only the agent's user reaches; the front (front.ts)
  // terminates TLS on the listen address and joins each connection to it, or splices it to a container.
  const apiSocket = apiSocketPath(config.dataDir);
  const server = Bun.serve<WsData, never>({
    unix: apiSocket,
    // The hook route takes the largest bodies; the router holds every other route to MAX_BODY.
    maxRequestBodySize: HOOK_RELAY_MAX_BYTES,
    ...noDebugPages(log, "agent"),
    fetch: router.fetch,
    websocket: {
      maxPayloadLength: MAX_FRAME,
      open(ws: ServerWebSocket<WsData>) {
        ws.data.session = ws.data.start(ws);
      },
      message(ws, message) {
        ws.data.session?.message(frameOf(message));
      },
      drain(ws) {
        ws.data.session?.drain();
      },
      close(ws, code, reason) {
        ws.data.session?.close(code, reason);
      },
    },
  });

  chmodSync(apiSocket, 0o600);
  const front = startFront({
    hostname: config.listen.host,
    port: config.listen.port,
    tls: { cert: tls.cert, key: tls.key },
    api: apiSocket,
    route: router.splice,
    sockets,
    log,
  });

  log.info("agent listening", { port: front.port, node: config.nodeId, fingerprint: tls.fingerprint });
  const host = config.listen.host;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `https://${urlHost}:${front.port}`,
    port: front.port,
    fingerprint: tls.fingerprint,
    nodeId: config.nodeId,
    dataDir: config.dataDir,
    manager,
    providerGateway,
    connectServer(link) {
      serverLink = link;
    },
    async stop() {
      front.stop(true);
      await server.stop(true);
      rmSync(apiSocket, { force: true });
      await providerGateway.stop();
      await networks.drain();
      await volumes.drainPool();
    },
  };
}
