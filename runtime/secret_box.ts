// Seals channel credentials (a Telegram bot token…) before they reach the data volume: AES-256-GCM
// under a key derived with HKDF from a secret the runtime gets from its environment and never
// writes anywhere, so the volume alone does not give the credential away. The channel name is bound
// in as additional data, so a sealed value cannot be moved to another channel.
const VERSION = "v1";
const encoder = new TextEncoder();

export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

export class SecretBox {
  private constructor(private readonly key: CryptoKey) {}

  static async fromSecret(secret: string): Promise<SecretBox> {
    const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, [
      "deriveKey",
    ]);
    const key = await crypto.subtle.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: encoder.encode("clawfleet-runtime"),
        info: encoder.encode("channels v1"),
      },
      material,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
    return new SecretBox(key);
  }

  async seal(plaintext: string, context: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
      this.key,
      encoder.encode(plaintext),
    );
    return `${VERSION}.${Buffer.from(iv).toString("base64url")}.${Buffer.from(sealed).toString("base64url")}`;
  }

  async open(sealed: string, context: string): Promise<string> {
    const [version, iv, data] = sealed.split(".");
    if (version !== VERSION || !iv || !data) throw new SecretBoxError("not a sealed value");
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: Buffer.from(iv, "base64url"), additionalData: encoder.encode(context) },
        this.key,
        Buffer.from(data, "base64url"),
      );
      return new TextDecoder().decode(plain);
    } catch {
      throw new SecretBoxError("sealed with another key");
    }
  }
}
