// How each provider is reached through the gateway: the path prefix a container uses, the public
// upstream it maps to, the base-URL variable a template gets, and where the key travels in the
// provider's own wire format (taken out of the container's request, put back in with the real key).
import { PROVIDERS, type Provider } from "../../common/providers.ts";

export type ProviderRoute = {
  id: Provider;
  label: string;
  /** The upstream origin (and optional path, for an operator's egress proxy). */
  defaultUpstream: string;
  /** The variable SDKs read, and what follows the gateway prefix in it (SDK conventions). */
  baseUrlEnv: string;
  baseUrlSuffix: string;
};

export const PROVIDER_ROUTES: Record<Provider, ProviderRoute> = {
  anthropic: {
    id: "anthropic",
    label: "Anthropic",
    defaultUpstream: "https://api.anthropic.com",
    baseUrlEnv: "ANTHROPIC_BASE_URL",
    baseUrlSuffix: "",
  },
  openai: {
    id: "openai",
    label: "OpenAI",
    defaultUpstream: "https://api.openai.com",
    baseUrlEnv: "OPENAI_BASE_URL",
    baseUrlSuffix: "/v1",
  },
  google: {
    id: "google",
    label: "Google",
    defaultUpstream: "https://generativelanguage.googleapis.com",
    baseUrlEnv: "GOOGLE_GEMINI_BASE_URL",
    baseUrlSuffix: "",
  },
  openrouter: {
    id: "openrouter",
    label: "OpenRouter",
    defaultUpstream: "https://openrouter.ai",
    baseUrlEnv: "OPENROUTER_BASE_URL",
    baseUrlSuffix: "/api/v1",
  },
};

/** Every header that may carry a key or the per-container credential: none of them goes upstream. */
export const AUTH_HEADERS = ["authorization", "x-api-key", "x-goog-api-key", "api-key"];

/** The base-URL variables of a container whose gateway listens at `origin` (http://ip:port). */
export function baseUrlEnv(origin: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const id of PROVIDERS) {
    const route = PROVIDER_ROUTES[id];
    env[route.baseUrlEnv] = `${origin}/${id}${route.baseUrlSuffix}`;
  }
  return env;
}

/** The credential the container presented, wherever its SDK put it. */
export function presentedCredential(headers: Headers, url: URL): string {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get("authorization") ?? "")?.[1];
  return (
    bearer ??
    headers.get("x-api-key") ??
    headers.get("x-goog-api-key") ??
    headers.get("api-key") ??
    url.searchParams.get("key") ??
    ""
  );
}

/**
 * Puts the real key where the provider expects it. Google's native API takes x-goog-api-key, its
 * OpenAI-compatible endpoint a bearer token: the form the container used decides.
 */
export function injectKey(provider: Provider, headers: Headers, key: string, usedBearer: boolean) {
  if (provider === "anthropic") headers.set("x-api-key", key);
  else if (provider === "google" && !usedBearer) headers.set("x-goog-api-key", key);
  else headers.set("authorization", `Bearer ${key}`);
}

/** The model a request names: in its JSON body, or in Google's path (…/models/<model>:generate…). */
export function requestModel(body: unknown, path: string): string | null {
  const model = (body as { model?: unknown } | null)?.model;
  if (typeof model === "string") return model.slice(0, 200);
  return /\/models\/([^/:]+)/.exec(path)?.[1]?.slice(0, 200) ?? null;
}
