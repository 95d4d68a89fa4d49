// The small cryptographic primitives both the server and the agent (and the runtime) use, written
// once: SHA-256 in hex, HMAC-SHA256, and a constant-time comparison.
import { timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();

export function sha256Hex(data: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

export function sha256(data: string | Uint8Array): Uint8Array {
  return new Uint8Array(new Bun.CryptoHasher("sha256").update(data).digest());
}

export function hmacKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** HMAC-SHA256 of `message`, with an imported key or raw secret bytes. */
export async function hmacSha256(
  key: CryptoKey | Uint8Array<ArrayBuffer>,
  message: string,
): Promise<Uint8Array> {
  const imported = key instanceof Uint8Array ? await hmacKey(key) : key;
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(message)));
}

/**
 * Compares two secrets in time independent of where they differ and of their lengths: both sides are
 * hashed first, because timingSafeEqual needs equal lengths and an early length check would leak one.
 * An empty presented value never matches.
 */
export function constantTimeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected)) && presented !== "" && expected !== "";
}
