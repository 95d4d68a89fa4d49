// Picks the provider for a chat: the one the message names, else the configured default, else the
// first whose key was injected. A provider without a key is refused with a message saying so.
import { PROVIDER_IDS, type ProviderId, parseProviderId, type RuntimeConfig } from "../config.ts";
import { anthropicProvider } from "./anthropic.ts";
import { ProviderError } from "./errors.ts";
import { openAiProvider } from "./openai.ts";
import type { ChatProvider } from "./types.ts";

export type ProviderSummary = { id: ProviderId; label: string; model: string; configured: boolean };

export function listProviders(config: RuntimeConfig): ProviderSummary[] {
  return PROVIDER_IDS.map((id) => {
    const p = config.providers[id];
    return { id, label: p.label, model: p.model, configured: p.apiKey !== null };
  });
}

export function resolveProvider(config: RuntimeConfig, requested: string | undefined): ChatProvider {
  let id: ProviderId | null;
  if (requested) {
    id = parseProviderId(requested);
    if (!id) {
      throw new ProviderError(
        "bad_request",
        `Unknown provider "${requested}". Use one of: ${PROVIDER_IDS.join(", ")}.`,
      );
    }
  } else {
    id = config.defaultProvider;
  }
  if (!id) {
    throw new ProviderError(
      "no_key",
      "No AI provider key is configured. Add an Anthropic, OpenAI, OpenRouter or Gemini key in clawfleet.",
    );
  }
  const provider = config.providers[id];
  if (!provider.apiKey) {
    throw new ProviderError("no_key", `No ${provider.label} API key is configured. Add one in clawfleet.`);
  }
  return provider.wire === "anthropic"
    ? anthropicProvider(provider, provider.apiKey, config.providerIdleTimeoutMs)
    : openAiProvider(provider, provider.apiKey, config.providerIdleTimeoutMs);
}
