// Every setting the runtime reads, from the environment the fleet agent injects at spawn. A bad value
// throws RuntimeConfigError, whose message is the one line printed before exiting (never a value).
import type { Cidr } from "../common/ip.ts";
import type { LogLevel } from "../common/log.ts";
import { SHELL_MODES, type ShellMode } from "./store/settings.ts";
import { parseFetchAllow } from "./tools/public_address.ts";

export class RuntimeConfigError extends Error {
  override name = "RuntimeConfigError";
}

export const PROVIDER_IDS = ["anthropic", "openai", "openrouter", "gemini"] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];
export type ProviderWire = "openai" | "anthropic";

export type ProviderConfig = {
  id: ProviderId;
  label: string;
  wire: ProviderWire;
  apiKey: string | null;
  baseUrl: string;
  model: string;
};

export type RuntimeConfig = {
  host: string;
  port: number;
  dataDir: string;
  gatewayToken: string | null;
  /** Seals channel credentials at rest; CLAWFLEET_SECRETS_KEY, else the gateway token. */
  secretsKey: string | null;
  logLevel: LogLevel;
  providers: Record<ProviderId, ProviderConfig>;
  defaultProvider: ProviderId | null;
  systemPrompt: string;
  maxTokens: number;
  /** A provider stream silent for this long is abandoned. */
  providerIdleTimeoutMs: number;
  telegram: { apiBase: string; pollTimeoutSeconds: number };
  /** The shell tool's mode until the user changes it in the assistant's settings. */
  shellMode: ShellMode;
  /** Non-public ranges the http_fetch tool may reach anyway (never link-local). */
  fetchAllow: Cidr[];
};

type Env = Record<string, string | undefined>;

// Public defaults. Base URLs follow the official SDKs: OpenAI-style bases end in the version segment
// (…/v1, Gemini's …/v1beta/openai) and get `/chat/completions`; Anthropic's base gets `/v1/messages`.
const PROVIDER_DEFAULTS: Record<
  ProviderId,
  { label: string; wire: ProviderWire; baseUrl: string; model: string }
> = {
  anthropic: {
    label: "Anthropic",
    wire: "anthropic",
    baseUrl: "https://api.anthropic.com",
    model: "claude-sonnet-4-5",
  },
  openai: { label: "OpenAI", wire: "openai", baseUrl: "https://api.openai.com/v1", model: "gpt-4o-mini" },
  openrouter: {
    label: "OpenRouter",
    wire: "openai",
    baseUrl: "https://openrouter.ai/api/v1",
    model: "openrouter/auto",
  },
  gemini: {
    label: "Gemini",
    wire: "openai",
    baseUrl: "https://generativelanguage.googleapis.com/v1beta/openai",
    model: "gemini-2.5-flash",
  },
};

const KEY_ENV: Record<ProviderId, string> = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  openrouter: "OPENROUTER_API_KEY",
  gemini: "GEMINI_API_KEY",
};

// The variables the fleet agent points at its provider gateway (the SDKs' own names), and what the
// runtime appends to reach its endpoint family: Gemini is spoken through its OpenAI-compatible API.
const SDK_BASE_URL_ENV: Record<ProviderId, { name: string; suffix: string }> = {
  anthropic: { name: "ANTHROPIC_BASE_URL", suffix: "" },
  openai: { name: "OPENAI_BASE_URL", suffix: "" },
  openrouter: { name: "OPENROUTER_BASE_URL", suffix: "" },
  gemini: { name: "GOOGLE_GEMINI_BASE_URL", suffix: "/v1beta/openai" },
};

const LOG_LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

function parseInteger(name: string, raw: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(raw)) throw new RuntimeConfigError(`${name}: "${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new RuntimeConfigError(`${name}: must be between ${min} and ${max}`);
  return value;
}

function parseBaseUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RuntimeConfigError(`${name}: not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RuntimeConfigError(`${name}: protocol must be http: or https:`);
  }
  if (url.username || url.password) throw new RuntimeConfigError(`${name}: must not carry credentials`);
  return raw.replace(/\/+$/, "");
}

/** Accepts the server's credential name "google" for Gemini. */
export function parseProviderId(raw: string): ProviderId | null {
  const id = raw === "google" ? "gemini" : raw;
  return (PROVIDER_IDS as readonly string[]).includes(id) ? (id as ProviderId) : null;
}

export function loadRuntimeConfig(env: Env = process.env): RuntimeConfig {
  const get = (name: string) => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };

  const providers = {} as Record<ProviderId, ProviderConfig>;
  for (const id of PROVIDER_IDS) {
    const defaults = PROVIDER_DEFAULTS[id];
    const upper = id.toUpperCase();
    const ownName = `CLAWFLEET_${upper}_BASE_URL`;
    const sdk = SDK_BASE_URL_ENV[id];
    const sdkValue = get(sdk.name);
    const [baseName, baseValue] = get(ownName)
      ? [ownName, get(ownName) as string]
      : sdkValue
        ? [sdk.name, `${sdkValue.replace(/\/+$/, "")}${sdk.suffix}`]
        : [ownName, defaults.baseUrl];
    providers[id] = {
      id,
      label: defaults.label,
      wire: defaults.wire,
      apiKey: get(KEY_ENV[id]) ?? null,
      baseUrl: parseBaseUrl(baseName, baseValue),
      model: get(`CLAWFLEET_${upper}_MODEL`) ?? defaults.model,
    };
  }

  let defaultProvider: ProviderId | null = null;
  const requested = get("CLAWFLEET_DEFAULT_PROVIDER");
  if (requested) {
    defaultProvider = parseProviderId(requested);
    if (!defaultProvider) {
      throw new RuntimeConfigError(`CLAWFLEET_DEFAULT_PROVIDER: must be one of ${PROVIDER_IDS.join(", ")}`);
    }
  } else {
    defaultProvider = PROVIDER_IDS.find((id) => providers[id].apiKey) ?? null;
  }

  const logLevel = (get("CLAWFLEET_LOG_LEVEL") ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new RuntimeConfigError(`CLAWFLEET_LOG_LEVEL: must be one of ${LOG_LEVELS.join(", ")}`);
  }

  const gatewayToken = get("CLAWFLEET_GATEWAY_TOKEN") ?? null;
  if (gatewayToken !== null && gatewayToken.length < 16) {
    throw new RuntimeConfigError("CLAWFLEET_GATEWAY_TOKEN: must be at least 16 characters");
  }
  const secretsKey = get("CLAWFLEET_SECRETS_KEY") ?? gatewayToken;
  if (secretsKey !== null && secretsKey.length < 16) {
    throw new RuntimeConfigError("CLAWFLEET_SECRETS_KEY: must be at least 16 characters");
  }

  const shellMode = (get("CLAWFLEET_SHELL_MODE") ?? "ask") as ShellMode;
  if (!SHELL_MODES.includes(shellMode)) {
    throw new RuntimeConfigError(`CLAWFLEET_SHELL_MODE: must be one of ${SHELL_MODES.join(", ")}`);
  }
  const fetchAllow = parseFetchAllow(get("CLAWFLEET_FETCH_ALLOW"));
  if (fetchAllow.bad !== null) {
    throw new RuntimeConfigError("CLAWFLEET_FETCH_ALLOW: entries must be IP addresses or CIDRs");
  }

  return {
    host: get("HOST") ?? "0.0.0.0",
    port: parseInteger("PORT", get("PORT") ?? "8080", 1, 65535),
    dataDir: get("CLAWFLEET_DATA_DIR") ?? "/data",
    gatewayToken,
    secretsKey,
    logLevel,
    providers,
    defaultProvider,
    systemPrompt:
      get("CLAWFLEET_SYSTEM_PROMPT") ??
      "You are a helpful personal assistant running in the user's private clawfleet container.",
    maxTokens: parseInteger("CLAWFLEET_MAX_TOKENS", get("CLAWFLEET_MAX_TOKENS") ?? "4096", 1, 200_000),
    providerIdleTimeoutMs: parseInteger(
      "CLAWFLEET_PROVIDER_IDLE_TIMEOUT_MS",
      get("CLAWFLEET_PROVIDER_IDLE_TIMEOUT_MS") ?? "90000",
      100,
      600_000,
    ),
    telegram: {
      apiBase: parseBaseUrl(
        "CLAWFLEET_TELEGRAM_API_BASE",
        get("CLAWFLEET_TELEGRAM_API_BASE") ?? "https://api.telegram.org",
      ),
      pollTimeoutSeconds: parseInteger(
        "CLAWFLEET_TELEGRAM_POLL_TIMEOUT",
        get("CLAWFLEET_TELEGRAM_POLL_TIMEOUT") ?? "25",
        0,
        50,
      ),
    },
    shellMode,
    fetchAllow: fetchAllow.allow,
  };
}

/** Every secret value the runtime was given, for scrubbing logs and outgoing messages. */
export function configSecrets(config: RuntimeConfig): string[] {
  const values = [
    config.gatewayToken,
    config.secretsKey,
    ...PROVIDER_IDS.map((id) => config.providers[id].apiKey),
  ];
  return values.filter((v): v is string => typeof v === "string" && v.length > 0);
}
