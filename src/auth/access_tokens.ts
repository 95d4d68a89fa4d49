import { jwt } from "@elysiajs/jwt";
import { isUuid } from "../db/rls.ts";

export const ACCESS_TOKEN_SECONDS = 15 * 60;

/** The same signer the API's jwt plugin uses, for code outside Elysia's context (the WS upgrade). */
export function accessTokenSigner(secret: Uint8Array<ArrayBuffer>) {
  const plugin = jwt({ name: "accessJwt", secret, exp: `${ACCESS_TOKEN_SECONDS}s` });
  const signer = plugin.decorator.accessJwt;
  return {
    plugin,
    sign: (userId: string, signInId: string) => signer.sign({ sub: userId, sid: signInId }),
    async verify(token: string): Promise<{ userId: string; signInId: string } | null> {
      const payload = await signer.verify(token);
      if (!payload || !isUuid(payload.sub) || !isUuid(payload.sid)) return null;
      return { userId: payload.sub, signInId: payload.sid };
    },
  };
}
