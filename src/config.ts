// Every setting the server reads, parsed and validated in one place. A bad value throws ConfigError,
// whose message is the one line printed before exiting.
import { resolve } from "node:path";
import { ConfigError } from "../common/config_error.ts";
import { parseCidr } from "../common/ip.ts";
import { type KeyringEntry, parseKeyring } from "../common/keyring.ts";
import type { LogLevel } from "../common/log.ts";
import { type AcmeConfig, HOSTNAME, parseAcmeConfig } from "./tls/acme_config.ts";

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
  /** Automatic HTTPS through ACME, when CLAWFLEET_DOMAIN is set. */
  acme: AcmeConfig | null;
  /** How long an inbound webhook waits for a frozen container to come back before a 503. */
  hookWaitMs: number;
  /** Container apps at `<slug>.<apps domain>` (CLAWFLEET_APPS_DOMAIN; needs CLAWFLEET_PUBLIC_URL). */
  appsDomain: string | null;
  /** CLAWFLEET_USER_TEMPLATES: the templates users may pick until an admin changes the list. */
  userTemplates: string[];
  trustedProxies: string[];
  signup: { mode: SignupMode; perAddressPerHour: number; globalPerHour: number };
  logLevel: LogLevel;
  session: { absoluteMs: number; idleMs: number };
  fleet: { reconcileIntervalMs: number; spawnRetryAfterMs: number; spawnTimeoutMs: number };
  accounts: AccountsConfig;
};

import { type AccountsConfig, loadAccountsConfig } from "./config_accounts.ts";

const LOG_LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

export type SignupMode = "open" | "invite" | "closed";
const SIGNUP_MODES: SignupMode[] = ["open", "invite", "closed"];

function parseCount(name: string, raw: string): number {
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1)
    throw new ConfigError(`${name}: must be a whole number from 1`);
  return Number(raw);
}

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
    domain: "CLAWFLEET_DOMAIN",
    "http-port": "CLAWFLEET_HTTP_PORT",
    "acme-directory": "CLAWFLEET_ACME_DIRECTORY",
    "trusted-proxies": "CLAWFLEET_TRUSTED_PROXIES",
    signup: "CLAWFLEET_SIGNUP",
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

export function parsePort(name: string, raw: string): number {
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

function parseAppsDomain(raw: string | undefined, publicUrl: string | undefined): string | null {
  if (!raw) return null;
  const domain = raw.toLowerCase();
  if (!HOSTNAME.test(domain)) throw new ConfigError(`CLAWFLEET_APPS_DOMAIN: "${raw}" is not a DNS name`);
  if (!publicUrl)
    throw new ConfigError(
      "CLAWFLEET_APPS_DOMAIN: needs CLAWFLEET_PUBLIC_URL (the console's origin for the handshake)",
    );
  const consoleHost = new URL(publicUrl).hostname;
  if (consoleHost === domain || consoleHost.endsWith(`.${domain}`))
    throw new ConfigError("CLAWFLEET_APPS_DOMAIN: the console must not be inside the apps domain");
  return domain;
}

export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function parseTemplateList(name: string, raw: string): string[] {
  const names = [
    ...new Set(
      raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const bad = names.find((n) => !TEMPLATE_NAME.test(n));
  if (bad !== undefined) throw new ConfigError(`${name}: "${bad.slice(0, 64)}" is not a template name`);
  if (names.length === 0) throw new ConfigError(`${name}: name at least one template`);
  return names;
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
    if (!parseCidr(proxy)) {
      throw new ConfigError(
        `CLAWFLEET_TRUSTED_PROXIES: "${proxy}" is not an IP address or CIDR (IPv4 up to /32, IPv6 up to /128)`,
      );
    }
  }

  const signupMode = (get("CLAWFLEET_SIGNUP") ?? "open") as SignupMode;
  if (!SIGNUP_MODES.includes(signupMode)) {
    throw new ConfigError(`CLAWFLEET_SIGNUP: must be one of ${SIGNUP_MODES.join(", ")}`);
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
    acme: parseAcmeConfig(get, Boolean(cert)),
    appsDomain: parseAppsDomain(get("CLAWFLEET_APPS_DOMAIN"), publicUrl),
    userTemplates: parseTemplateList(
      "CLAWFLEET_USER_TEMPLATES",
      get("CLAWFLEET_USER_TEMPLATES") ?? "clawfleet-runtime",
    ),
    hookWaitMs: parseDuration("CLAWFLEET_HOOK_WAIT", get("CLAWFLEET_HOOK_WAIT") ?? "30s"),
    trustedProxies,
    signup: {
      mode: signupMode,
      perAddressPerHour: parseCount(
        "CLAWFLEET_SIGNUP_LIMIT_PER_ADDRESS",
        get("CLAWFLEET_SIGNUP_LIMIT_PER_ADDRESS") ?? "5",
      ),
      globalPerHour: parseCount(
        "CLAWFLEET_SIGNUP_LIMIT_GLOBAL",
        get("CLAWFLEET_SIGNUP_LIMIT_GLOBAL") ?? "100",
      ),
    },
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
    accounts: loadAccountsConfig(get),
    session: {
      absoluteMs: parseDuration("CLAWFLEET_SESSION_MAX_AGE", get("CLAWFLEET_SESSION_MAX_AGE") ?? "30d"),
      idleMs: parseDuration("CLAWFLEET_SESSION_IDLE_TIMEOUT", get("CLAWFLEET_SESSION_IDLE_TIMEOUT") ?? "7d"),
    },
  };
}
