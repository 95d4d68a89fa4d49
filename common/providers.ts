// The AI providers a user can store a key for: one list for the database, the API, the console and
// the agent contract.
export const PROVIDERS = ["anthropic", "openai", "google", "openrouter"] as const;
export type Provider = (typeof PROVIDERS)[number];

export function isProvider(value: unknown): value is Provider {
  return typeof value === "string" && (PROVIDERS as readonly string[]).includes(value);
}
