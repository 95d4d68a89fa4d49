// The agent's settings from env and flags; a bad value stops start-up with one line naming it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "../common/config_error.ts";
import { type KeyringEntry, parseKeyring } from "../common/keyring.ts";
import type { LogLevel } from "../common/log.ts";
import { isProvider, PROVIDERS, type Provider } from "../common/providers.ts";
import { NON_PUBLIC_IPV4, parseEgressAllow } from "./egress.ts";
import { DEFAULT_GATEWAY_PORT } from "./provider_gateway/gateway.ts";
import { PROVIDER_ROUTES } from "./provider_gateway/providers.ts";
import { loadTemplates, type Template, TemplateError } from "./templates.ts";

export type AgentConfig = {
  dataDir: string;
  listen: { host: string; port: number };
  dockerSocket: string;
  clusterKeys: KeyringEntry[];
  /** Secrets for this node alone (v2 signatures bound to `nodeId`). */
  nodeKeys: KeyringEntry[];
  nodeId: string;
  /** The built-in templates plus the admin's (CLAWFLEET_AGENT_TEMPLATES): the image allow-list. */
  templates: Template[];
  /** Destinations containers may not reach: every non-public range plus CLAWFLEET_AGENT_BLOCKED. */
  blocked: string[];
  /** Opened by the operator ahead of the blocks (CLAWFLEET_EGRESS_ALLOW). */
  egressAllow: string[];
  allowRootful: boolean;
  /** Run on a host whose ext4 cannot encrypt: volumes are then size-limited images in plaintext. */
  allowUnencryptedVolumes: boolean;
  capacity: { cpuMillis: number; memoryMb: number; containers: number };
  tls: { cert: string; key: string } | null;
  /** Off only where another layer isolates the containers' networks (reported in /v1/health). */
  firewall: boolean;
  /** How long a terminal's shell waits for its client to reattach after the socket closed. */
  terminalLingerMs: number;
  /** Networks and volume images made ahead of spawns (CLAWFLEET_AGENT_WARM_POOL, 0 = none). */
  warmPool: number;
  logLevel: LogLevel;
  /** The provider gateway (docs/AGENT.md "Provider gateway"). */
  providerGateway: {
    port: number;
    /** The control plane the keys come from; null until set (all-in-one sets it once it listens). */
    serverUrl: string | null;
    serverCa: string | null;
    upstreams: Record<Provider, string>;
    /** Extra CA (PEM) trusted for upstream providers, beside the system roots. */
    upstreamCa: string | null;
  };
};

type Env = Record<string, string | undefined>;

const FLAGS: Record<string, string> = {
  "data-dir": "CLAWFLEET_AGENT_DATA_DIR",
  listen: "CLAWFLEET_AGENT_LISTEN",
  "docker-socket": "DOCKER_SOCKET",
  "node-id": "CLAWFLEET_NODE_ID",
  templates: "CLAWFLEET_AGENT_TEMPLATES",
  blocked: "CLAWFLEET_AGENT_BLOCKED",
  "egress-allow": "CLAWFLEET_EGRESS_ALLOW",
  capacity: "CLAWFLEET_AGENT_CAPACITY",
  "server-url": "CLAWFLEET_SERVER_URL",
};

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;

export function isIpv4Cidr(value: string): boolean {
  const m = IPV4_CIDR.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) && (m[5] === undefined || Number(m[5]) <= 32);
}

/**
 * `needSecrets: false` is for `clawfleet-agent cert`, which only touches the certificate. Anything
 * wrong throws a ConfigError whose message starts with the variable's name.
 */
export function loadAgentConfig(env: Env, args: string[], opts: { needSecrets?: boolean } = {}): AgentConfig {
  const merged: Env = { ...env };
  let allowRootful = false;
  let allowUnencryptedVolumes = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--allow-rootful") allowRootful = true;
    else if (arg === "--allow-unencrypted-volumes") allowUnencryptedVolumes = true;
    else if (arg.startsWith("--")) {
      const [name = "", inline] = arg.slice(2).split("=", 2);
      const envName = FLAGS[name];
      if (!envName) throw new ConfigError(`--${name}: unknown flag`);
      const value = inline ?? args[++i];
      if (value === undefined) throw new ConfigError(`--${name}: a value is required`);
      merged[envName] = value;
    }
  }
  const get = (name: string) => (merged[name] === "" ? undefined : merged[name]);

  // This node's own secrets (minted by `clawfleet nodes add`, v2 signatures) and, during a migration,
  // the cluster-wide ones (v1, accepted only while set).
  const secrets = get("CLAWFLEET_CLUSTER_SECRETS");
  const ownSecrets = get("CLAWFLEET_NODE_SECRETS");
  if (!secrets && !ownSecrets && opts.needSecrets !== false)
    throw new ConfigError(
      "CLAWFLEET_NODE_SECRETS: required (what `clawfleet nodes add` printed), or CLAWFLEET_CLUSTER_SECRETS",
    );
  const clusterKeys = secrets ? parseKeyring("CLAWFLEET_CLUSTER_SECRETS", secrets, "secret") : [];
  const nodeKeys = ownSecrets ? parseKeyring("CLAWFLEET_NODE_SECRETS", ownSecrets, "secret") : [];

  const listenRaw = get("CLAWFLEET_AGENT_LISTEN") ?? "0.0.0.0:7443";
  const listen = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listenRaw);
  if (!listen || Number(listen[2]) > 65535)
    throw new ConfigError(`CLAWFLEET_AGENT_LISTEN: "${listenRaw}" must be host:port`);

  const dataDir = resolve(get("CLAWFLEET_AGENT_DATA_DIR") ?? "./agent-data");
  const nodeId = get("CLAWFLEET_NODE_ID") ?? persistedNodeId(dataDir);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(nodeId))
    throw new ConfigError("CLAWFLEET_NODE_ID: letters, digits, . _ - only");

  const templatesPath = get("CLAWFLEET_AGENT_TEMPLATES");
  let templatesJson: string | null = null;
  if (templatesPath) {
    try {
      templatesJson = readFileSync(templatesPath, "utf8");
    } catch {
      throw new ConfigError(`CLAWFLEET_AGENT_TEMPLATES: cannot read ${templatesPath}`);
    }
  }
  let templates: Template[];
  try {
    templates = loadTemplates(templatesJson);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    throw new ConfigError(`CLAWFLEET_AGENT_TEMPLATES: ${error.message}`);
  }

  const blocked = [...NON_PUBLIC_IPV4];
  const egressAllow = parseEgressAllow(get("CLAWFLEET_EGRESS_ALLOW"));
  for (const cidr of (get("CLAWFLEET_AGENT_BLOCKED") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!isIpv4Cidr(cidr)) throw new ConfigError(`CLAWFLEET_AGENT_BLOCKED: "${cidr}" is not an IPv4 CIDR`);
    blocked.push(cidr);
  }

  // CPU limits are ceilings, not reservations: by default a node offers 4× its cores to plans.
  const capacity = {
    cpuMillis: cpus().length * 4000,
    memoryMb: Math.floor((totalmem() / 1024 / 1024) * 0.9),
    containers: 100,
  };
  const capRaw = get("CLAWFLEET_AGENT_CAPACITY");
  if (capRaw) {
    for (const part of capRaw.split(",")) {
      const [k, v] = part.split("=");
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0)
        throw new ConfigError(`CLAWFLEET_AGENT_CAPACITY: "${part}" must be name=positive integer`);
      if (k === "cpu") capacity.cpuMillis = n;
      else if (k === "memory") capacity.memoryMb = n;
      else if (k === "containers") capacity.containers = n;
      else throw new ConfigError(`CLAWFLEET_AGENT_CAPACITY: unknown "${k}" (cpu, memory, containers)`);
    }
  }

  const cert = get("CLAWFLEET_TLS_CERT");
  const key = get("CLAWFLEET_TLS_KEY");
  if (Boolean(cert) !== Boolean(key))
    throw new ConfigError("CLAWFLEET_TLS_CERT: set both TLS variables or neither");

  const firewall = get("CLAWFLEET_AGENT_FIREWALL") ?? "on";
  if (firewall !== "on" && firewall !== "off")
    throw new ConfigError(`CLAWFLEET_AGENT_FIREWALL: "${firewall}" must be on or off`);
  const lingerRaw = get("CLAWFLEET_TERMINAL_LINGER_SECONDS") ?? "300";
  const linger = Number(lingerRaw);
  if (!/^\d{1,6}$/.test(lingerRaw) || linger > 86_400)
    throw new ConfigError(`CLAWFLEET_TERMINAL_LINGER_SECONDS: "${lingerRaw}" must be 0 to 86400 seconds`);
  const warmPoolRaw = get("CLAWFLEET_AGENT_WARM_POOL") ?? "2";
  if (!/^\d$/.test(warmPoolRaw) || Number(warmPoolRaw) > 8)
    throw new ConfigError(`CLAWFLEET_AGENT_WARM_POOL: "${warmPoolRaw}" must be 0 to 8`);
  const logLevel = get("CLAWFLEET_LOG_LEVEL") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel))
    throw new ConfigError(`CLAWFLEET_LOG_LEVEL: "${logLevel}" must be debug, info, warn or error`);

  return {
    providerGateway: providerGatewayConfig(get),
    dataDir,
    listen: { host: (listen[1] ?? "").replace(/^\[|\]$/g, ""), port: Number(listen[2]) },
    dockerSocket: get("DOCKER_SOCKET") ?? "/var/run/docker.sock",
    clusterKeys,
    nodeKeys,
    nodeId,
    templates,
    blocked,
    egressAllow,
    allowRootful,
    allowUnencryptedVolumes,
    capacity,
    tls: cert && key ? { cert, key } : null,
    firewall: firewall === "on",
    terminalLingerMs: linger * 1000,
    warmPool: Number(warmPoolRaw),
    logLevel: logLevel as LogLevel,
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/;

function readPem(name: string, path: string | undefined): string | null {
  if (!path) return null;
  try {
    const pem = readFileSync(path, "utf8");
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error("no certificate");
    return pem;
  } catch {
    throw new ConfigError(`${name}: cannot read a PEM certificate from ${path}`);
  }
}

function httpsUrl(name: string, raw: string, allowLoopbackHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: "${raw}" is not a URL`);
  }
  const plainOk = allowLoopbackHttp && url.protocol === "http:" && LOOPBACK.test(url.hostname);
  if ((url.protocol !== "https:" && !plainOk) || url.username || url.password || url.search)
    throw new ConfigError(`${name}: must be an https:// URL without credentials (http only on loopback)`);
  return raw.replace(/\/+$/, "");
}

/**
 * CLAWFLEET_PROVIDER_UPSTREAMS: `provider=https://…,…` overrides public endpoints (an egress proxy, a
 * test fake). Plain http is refused even on loopback: keys only travel with certificate checks.
 */
function providerGatewayConfig(get: (name: string) => string | undefined): AgentConfig["providerGateway"] {
  const portRaw = get("CLAWFLEET_PROVIDER_GATEWAY_PORT") ?? String(DEFAULT_GATEWAY_PORT);
  const port = Number(portRaw);
  if (!/^\d{1,5}$/.test(portRaw) || port < 1 || port > 65535)
    throw new ConfigError(`CLAWFLEET_PROVIDER_GATEWAY_PORT: "${portRaw}" must be a port number`);
  const upstreams = Object.fromEntries(
    PROVIDERS.map((p) => [p, PROVIDER_ROUTES[p].defaultUpstream]),
  ) as Record<Provider, string>;
  for (const part of (get("CLAWFLEET_PROVIDER_UPSTREAMS") ?? "").split(",").filter((s) => s.trim())) {
    const eq = part.indexOf("=");
    const name = part.slice(0, eq).trim();
    if (eq < 0 || !isProvider(name))
      throw new ConfigError(
        `CLAWFLEET_PROVIDER_UPSTREAMS: "${part}" must be provider=https://… (${PROVIDERS.join(", ")})`,
      );
    upstreams[name] = httpsUrl("CLAWFLEET_PROVIDER_UPSTREAMS", part.slice(eq + 1).trim(), false);
  }
  const server = get("CLAWFLEET_SERVER_URL");
  return {
    port,
    serverUrl: server ? httpsUrl("CLAWFLEET_SERVER_URL", server, true) : null,
    serverCa: readPem("CLAWFLEET_SERVER_CA", get("CLAWFLEET_SERVER_CA")),
    upstreams,
    upstreamCa: readPem("CLAWFLEET_PROVIDER_CA", get("CLAWFLEET_PROVIDER_CA")),
  };
}

function persistedNodeId(dataDir: string): string {
  const path = join(dataDir, "node-id");
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const id = `node-${crypto.randomUUID().slice(0, 8)}`;
  writeFileSync(path, `${id}\n`, { mode: 0o600 });
  return id;
}

/** A per-node secret (0600 in the data dir) from which each container's gateway token is derived. */
export function nodeSecret(dataDir: string): Uint8Array<ArrayBuffer> {
  const path = join(dataDir, "gateway.secret");
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(path, Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"), {
      mode: 0o600,
      flag: "wx",
    });
  }
  return new Uint8Array(Buffer.from(readFileSync(path, "utf8").trim(), "base64"));
}
