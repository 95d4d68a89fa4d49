// Keyrings of `kid:value` pairs, newest first: master keys (server) and signing secrets (server and
// agent) share one parser so both sides accept exactly the same values.
import { ConfigError } from "./config_error.ts";

export type KeyringEntry = { id: string; secret: Uint8Array<ArrayBuffer> };

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
