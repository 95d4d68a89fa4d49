// Keys for signing access tokens, deriving refresh tokens and CSRF tokens, each derived with HKDF from
// the newest master key, so every replica sharing CLAWFLEET_MASTER_KEYS agrees without storing more
// secrets. Rotating the master key invalidates access tokens (15 min) and refresh tokens (users sign in again).
export type AuthKeys = {
  accessTokenSecret: Uint8Array<ArrayBuffer>;
  refreshKey: CryptoKey;
  csrfKey: CryptoKey;
};

async function hkdf(root: Uint8Array<ArrayBuffer>, info: string): Promise<Uint8Array<ArrayBuffer>> {
  const base = await crypto.subtle.importKey("raw", root, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("clawfleet-auth-v1"),
      info: new TextEncoder().encode(info),
    },
    base,
    256,
  );
  return new Uint8Array(bits);
}

function hmacKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

export async function deriveAuthKeys(masterKey: Uint8Array<ArrayBuffer>): Promise<AuthKeys> {
  return {
    accessTokenSecret: await hkdf(masterKey, "access-token"),
    refreshKey: await hmacKey(await hkdf(masterKey, "refresh-token")),
    csrfKey: await hmacKey(await hkdf(masterKey, "csrf-token")),
  };
}
