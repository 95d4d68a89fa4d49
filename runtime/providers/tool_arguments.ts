// A tool call's arguments arrive as streamed JSON text in both formats; a call whose arguments are
// not a JSON object is a malformed stream, not something to run.
import { ProviderError } from "./errors.ts";

export function parseToolArguments(label: string, name: string, text: string): Record<string, unknown> {
  if (!name) throw new ProviderError("malformed_stream", `${label} sent a tool call without a name.`);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProviderError("malformed_stream", `${label} sent tool arguments that are not valid JSON.`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ProviderError("malformed_stream", `${label} sent tool arguments that are not a JSON object.`);
  }
  return value as Record<string, unknown>;
}
