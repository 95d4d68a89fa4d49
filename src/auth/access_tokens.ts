import { jwt } from "@elysiajs/jwt";
import { constantTimeEqual } from "../../common/crypto.ts";
import { isUuid } from "../db/rls.ts";

export const ACCESS_TOKEN_SECONDS = 15 * 60;

/** The only header the jwt plugin signs with (HS256); a token with any other header is refused. */
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

/**
 * The same signer the API's jwt plugin uses, for code outside Elysia's context (the WS upgrade).
 * Verification is done here rather than by the plugin (jose): every authenticated request checks a
 * token, and jose imports the key and goes through WebCrypto's promise each time (~45 µs, 9 % of the
 * server's CPU under load, docs/BENCHMARKS.md); one synchronous HMAC is ~3 µs. The checks are jose's
 * for these tokens: the exact header (so no other algorithm, and never `none`), the signature, `exp`.
 */
export function accessTokenSigner(secret: Uint8Array<ArrayBuffer>) {
  const plugin = jwt({ name: "accessJwt", secret, exp: `${ACCESS_TOKEN_SECONDS}s` });
  const signer = plugin.decorator.accessJwt;
  return {
    plugin,
    sign: (userId: string, signInId: string) => signer.sign({ sub: userId, sid: signInId }),
    async verify(token: string): Promise<{ userId: string; signInId: string } | null> {
      const payload = verifiedPayload(secret, token);
      if (!payload || !isUuid(payload.sub) || !isUuid(payload.sid)) return null;
      return { userId: payload.sub, signInId: payload.sid };
    },
  };
}

function verifiedPayload(secret: Uint8Array, token: string): Record<string, unknown> | null {
  const [header, body, signature, extra] = token.split(".");
  if (header !== HEADER || !body || !signature || extra !== undefined) return null;
  const expected = new Bun.CryptoHasher("sha256", secret).update(`${header}.${body}`).digest("base64url");
  if (!constantTimeEqual(signature, expected)) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString());
  } catch {
    return null;
  }
  if (!payload || typeof payload !== "object") return null;
  const { exp } = payload as { exp?: unknown };
  if (typeof exp !== "number" || exp <= Math.floor(Date.now() / 1000)) return null;
  return payload as Record<string, unknown>;
}
