// Every setting the server reads, parsed and validated in one place. A bad value throws ConfigError,
// whose message is the one line printed before exiting.
import { resolve } from "node:path";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export type KeyringEntry = { id: string; secret: Uint8Array<ArrayBuffer> };

export type ServerConfig = {
  dataDir: string;
  databaseUrl: string | null;
  port: number;
  host: string;
  publicUrl: string | null;
  masterKeys: KeyringEntry[];
  clusterSecrets: KeyringEntry[];
  agentListen: { host: string; port: number };
  dockerSocket: string;
  tls: { cert: string; key: string } | null;
  trustedProxies: string[];
  logLevel: LogLevel;
  session: { absoluteMs: number; idleMs: number };
  fleet: { reconcileIntervalMs: number; spawnRetryAfterMs: number; spawnTimeoutMs: number };
};

export type LogLevel = "debug" | "info" | "warn" | "error";
const LOG_LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

type Env = Record<string, string | undefined>;

/** Flags like `--port 3001` or `--data-dir=./x` mirror env names (CLAWFLEET_DATA_DIR, PORT...). */
export function flagsToEnv(args: string[]): Env {
  const env: Env = {};
  const map: Record<string, string> = {
    "data-dir": "CLAWFLEET_DATA_DIR",
    "database-url": "DATABASE_URL",
    port: "PORT",
    host: "HOST",
    "public-url": "CLAWFLEET_PUBLIC_URL",
    "agent-listen": "CLAWFLEET_AGENT_LISTEN",
    "docker-socket": "DOCKER_SOCKET",
    "tls-cert": "CLAWFLEET_TLS_CERT",
    "tls-key": "CLAWFLEET_TLS_KEY",
    "trusted-proxies": "CLAWFLEET_TRUSTED_PROXIES",
    "log-level": "CLAWFLEET_LOG_LEVEL",
    "session-max-age": "CLAWFLEET_SESSION_MAX_AGE",
    "session-idle-timeout": "CLAWFLEET_SESSION_IDLE_TIMEOUT",
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("--")) continue;
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    const envName = map[name];
    if (!envName) continue;
    const value = inline ?? args[++i];
    if (value === undefined) throw new ConfigError(`--${name}: a value is required`);
    env[envName] = value;
  }
  return env;
}

function parsePort(name: string, raw: string): number {
  if (!/^\d{1,5}$/.test(raw)) throw new ConfigError(`${name}: "${raw}" is not a port number (1-65535)`);
  const port = Number(raw);
  if (port < 1 || port > 65535) throw new ConfigError(`${name}: ${port} is out of range (1-65535)`);
  return port;
}

function parseHostPort(name: string, raw: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(raw);
  if (!match) throw new ConfigError(`${name}: "${raw}" must be host:port`);
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port: parsePort(name, match[2] ?? "") };
}

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `12h`, `30d`. */
export function parseDuration(name: string, raw: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(raw);
  if (!match) throw new ConfigError(`${name}: "${raw}" must be a duration like 90s, 15m, 12h or 30d`);
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? "s"] ?? 1000);
  if (ms <= 0) throw new ConfigError(`${name}: must be more than zero`);
  return ms;
}

function parseUrl(name: string, raw: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: not a valid URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name}: protocol must be one of ${protocols.join(", ")}`);
  }
  return raw;
}

/**
 * `kid:value,kid:value`, newest first. Master keys are base64 of exactly 32 bytes; cluster secrets
 * are any string of at least 32 characters. The value itself never appears in an error.
 */
export function parseKeyring(name: string, raw: string, kind: "aes256" | "secret"): KeyringEntry[] {
  const entries: KeyringEntry[] = [];
  for (const [index, part] of raw.split(",").entries()) {
    const item = part.trim();
    const colon = item.indexOf(":");
    const id = colon > 0 ? item.slice(0, colon) : "";
    const value = colon > 0 ? item.slice(colon + 1) : "";
    if (!/^[A-Za-z0-9_.-]{1,32}$/.test(id) || value === "") {
      throw new ConfigError(`${name}: entry ${index + 1} must be kid:value (kid of letters, digits, _ . -)`);
    }
    if (entries.some((e) => e.id === id)) throw new ConfigError(`${name}: key id "${id}" is listed twice`);
    if (kind === "aes256") {
      const bytes = Buffer.from(value, "base64");
      if (bytes.length !== 32 || !/^[A-Za-z0-9+/]+=*$/.test(value)) {
        throw new ConfigError(`${name}: key "${id}" must be base64 of exactly 32 bytes`);
      }
      entries.push({ id, secret: new Uint8Array(bytes) });
    } else {
      if (value.length < 32) throw new ConfigError(`${name}: secret "${id}" must be at least 32 characters`);
      entries.push({ id, secret: new TextEncoder().encode(value) });
    }
  }
  return entries;
}

export function loadServerConfig(env: Env = process.env, args: string[] = []): ServerConfig {
  const merged: Env = { ...env, ...flagsToEnv(args) };
  const get = (name: string) => {
    const value = merged[name];
    return value === undefined || value === "" ? undefined : value;
  };

  const databaseUrl = get("DATABASE_URL");
  if (databaseUrl) parseUrl("DATABASE_URL", databaseUrl, ["postgres:", "postgresql:"]);
  const publicUrl = get("CLAWFLEET_PUBLIC_URL");
  if (publicUrl) parseUrl("CLAWFLEET_PUBLIC_URL", publicUrl, ["http:", "https:"]);

  const cert = get("CLAWFLEET_TLS_CERT");
  const key = get("CLAWFLEET_TLS_KEY");
  if (Boolean(cert) !== Boolean(key)) {
    throw new ConfigError(
      `${cert ? "CLAWFLEET_TLS_KEY" : "CLAWFLEET_TLS_CERT"}: set both TLS variables or neither`,
    );
  }

  const logLevel = (get("CLAWFLEET_LOG_LEVEL") ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`CLAWFLEET_LOG_LEVEL: must be one of ${LOG_LEVELS.join(", ")}`);
  }

  const trustedProxies = (get("CLAWFLEET_TRUSTED_PROXIES") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const proxy of trustedProxies) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(proxy)) {
      throw new ConfigError(`CLAWFLEET_TRUSTED_PROXIES: "${proxy}" is not an IP address or CIDR`);
    }
  }

  const masterRaw = get("CLAWFLEET_MASTER_KEYS");
  const clusterRaw = get("CLAWFLEET_CLUSTER_SECRETS");

  return {
    dataDir: resolve(get("CLAWFLEET_DATA_DIR") ?? "./data"),
    databaseUrl: databaseUrl ?? null,
    port: parsePort("PORT", get("PORT") ?? "3000"),
    host: get("HOST") ?? "0.0.0.0",
    publicUrl: publicUrl ?? null,
    masterKeys: masterRaw ? parseKeyring("CLAWFLEET_MASTER_KEYS", masterRaw, "aes256") : [],
    clusterSecrets: clusterRaw ? parseKeyring("CLAWFLEET_CLUSTER_SECRETS", clusterRaw, "secret") : [],
    agentListen: parseHostPort("CLAWFLEET_AGENT_LISTEN", get("CLAWFLEET_AGENT_LISTEN") ?? "0.0.0.0:7443"),
    dockerSocket: get("DOCKER_SOCKET") ?? "/var/run/docker.sock",
    tls: cert && key ? { cert, key } : null,
    trustedProxies,
    logLevel,
    fleet: {
      reconcileIntervalMs: parseDuration(
        "CLAWFLEET_RECONCILE_INTERVAL",
        get("CLAWFLEET_RECONCILE_INTERVAL") ?? "10s",
      ),
      spawnRetryAfterMs: parseDuration(
        "CLAWFLEET_SPAWN_RETRY_AFTER",
        get("CLAWFLEET_SPAWN_RETRY_AFTER") ?? "90s",
      ),
      spawnTimeoutMs: parseDuration("CLAWFLEET_SPAWN_TIMEOUT", get("CLAWFLEET_SPAWN_TIMEOUT") ?? "10m"),
    },
    session: {
      absoluteMs: parseDuration("CLAWFLEET_SESSION_MAX_AGE", get("CLAWFLEET_SESSION_MAX_AGE") ?? "30d"),
      idleMs: parseDuration("CLAWFLEET_SESSION_IDLE_TIMEOUT", get("CLAWFLEET_SESSION_IDLE_TIMEOUT") ?? "7d"),
    },
  };
}
