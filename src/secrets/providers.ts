// The providers a user can store a key for, how each key looks, and the preview shown instead of it.
import { isProvider, PROVIDERS, type Provider } from "../../common/providers.ts";

// `named`: the provider with its article, as a sentence says it ("an Anthropic key").
const FORMATS: Record<Provider, { pattern: RegExp; example: string; named: string }> = {
  anthropic: { pattern: /^sk-ant-[A-Za-z0-9_-]{20,200}$/, example: "sk-ant-…", named: "an Anthropic" },
  openai: {
    pattern: /^sk-(?!ant-|or-)[A-Za-z0-9_-]{20,250}$/,
    example: "sk-… or sk-proj-…",
    named: "an OpenAI",
  },
  google: { pattern: /^AIza[0-9A-Za-z_-]{35}$/, example: "AIza… (39 characters)", named: "a Google" },
  openrouter: { pattern: /^sk-or-[A-Za-z0-9_-]{20,200}$/, example: "sk-or-…", named: "an OpenRouter" },
};

const PREFIXES: Record<Provider, RegExp> = {
  anthropic: /^sk-ant-/,
  openai: /^sk-(proj-)?/,
  google: /^AIza/,
  openrouter: /^sk-or-(v1-)?/,
};

export type KeyProblem = { code: "unknown_provider" | "invalid_key_format"; message: string };

/** Never echoes the key: the message names only the provider and the expected shape. */
export function checkKey(provider: string, key: string): KeyProblem | null {
  if (!isProvider(provider)) {
    return { code: "unknown_provider", message: `Provider must be one of ${PROVIDERS.join(", ")}.` };
  }
  const format = FORMATS[provider];
  if (!format.pattern.test(key)) {
    return {
      code: "invalid_key_format",
      message: `That does not look like ${format.named} key (expected ${format.example}, no spaces).`,
    };
  }
  return null;
}

/** `sk-ant-…a1b2`: the provider's public prefix and the last four characters, nothing more. */
export function keyPreview(provider: Provider, key: string): string {
  const prefix = PREFIXES[provider].exec(key)?.[0] ?? "";
  return `${prefix}…${key.slice(-4)}`;
}
