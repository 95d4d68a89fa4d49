// AES-256-GCM for provider keys. A fresh random 96-bit nonce per encryption; the AAD binds the
// ciphertext to its user, provider and row, so a ciphertext copied anywhere else fails to decrypt.
// The SubtleCrypto implementation is a parameter so the tests can cross-check Bun's native WebCrypto
// against @peculiar/webcrypto.
export type Sealed = { keyId: string; nonce: Uint8Array<ArrayBuffer>; ciphertext: Uint8Array<ArrayBuffer> };
export type Binding = CredentialBinding | VolumeKeyBinding;
export type CredentialBinding = { userId: string; provider: string; rowId: string };
/** A session's volume key: bound to its user and session, in its own AAD domain. */
export type VolumeKeyBinding = { userId: string; sessionId: string };
export type MasterKey = { id: string; key: CryptoKey };

export class DecryptionError extends Error {
  override name = "DecryptionError";
  constructor() {
    super("a stored key could not be decrypted (wrong master key, or the data was altered)");
  }
}

export function aadFor(binding: Binding): Uint8Array<ArrayBuffer> {
  if ("sessionId" in binding)
    return new TextEncoder().encode(`clawfleet:volume-key:v1\n${binding.userId}\n${binding.sessionId}`);
  return new TextEncoder().encode(
    `clawfleet:credential:v1\n${binding.userId}\n${binding.provider}\n${binding.rowId}`,
  );
}

export async function seal(
  master: MasterKey,
  plaintext: string,
  binding: Binding,
  subtle: SubtleCrypto = crypto.subtle,
): Promise<Sealed> {
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: aadFor(binding), tagLength: 128 },
    master.key,
    new TextEncoder().encode(plaintext),
  );
  return { keyId: master.id, nonce, ciphertext: new Uint8Array(ciphertext) };
}

export async function open(
  master: MasterKey,
  sealed: Sealed,
  binding: Binding,
  subtle: SubtleCrypto = crypto.subtle,
): Promise<string> {
  if (master.id !== sealed.keyId || sealed.nonce.byteLength !== 12) throw new DecryptionError();
  try {
    const plain = await subtle.decrypt(
      { name: "AES-GCM", iv: sealed.nonce, additionalData: aadFor(binding), tagLength: 128 },
      master.key,
      sealed.ciphertext,
    );
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    throw new DecryptionError();
  }
}

/** Re-encrypts under another master key without the plaintext ever leaving this module. */
export async function reseal(
  from: MasterKey,
  to: MasterKey,
  sealed: Sealed,
  binding: Binding,
): Promise<Sealed> {
  return seal(to, await open(from, sealed, binding), binding);
}
