// The access-token check that every authenticated request runs (src/auth/access_tokens.ts): it accepts
// exactly what the jwt plugin signs, and refuses another key, a changed payload or header, `alg: none`,
// an expired token, and claims that are not ids.
import { describe, expect, test } from "bun:test";
import { accessTokenSigner } from "../../src/auth/access_tokens.ts";

const secret = () => crypto.getRandomValues(new Uint8Array(32));
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function hs256(key: Uint8Array, header: unknown, payload: unknown): string {
  const signing = `${b64(header)}.${b64(payload)}`;
  return `${signing}.${new Bun.CryptoHasher("sha256", key).update(signing).digest("base64url")}`;
}

describe("access tokens", () => {
  const key = secret();
  const tokens = accessTokenSigner(key);
  const userId = crypto.randomUUID();
  const signInId = crypto.randomUUID();
  const later = () => Math.floor(Date.now() / 1000) + 600;

  test("a token the plugin signed verifies to its user and sign-in", async () => {
    expect(await tokens.verify(await tokens.sign(userId, signInId))).toEqual({ userId, signInId });
  });

  test("the same claims signed by hand (HS256) verify too", async () => {
    const token = hs256(key, { alg: "HS256", typ: "JWT" }, { sub: userId, sid: signInId, exp: later() });
    expect(await tokens.verify(token)).toEqual({ userId, signInId });
  });

  test("another server's key is refused", async () => {
    const other = accessTokenSigner(secret());
    expect(await tokens.verify(await other.sign(userId, signInId))).toBeNull();
  });

  test("a changed payload is refused", async () => {
    const [header, , signature] = (await tokens.sign(userId, signInId)).split(".");
    const forged = b64({ sub: crypto.randomUUID(), sid: signInId, exp: later() });
    expect(await tokens.verify(`${header}.${forged}.${signature}`)).toBeNull();
  });

  test("alg none, another algorithm or header, and malformed tokens are refused", async () => {
    const claims = { sub: userId, sid: signInId, exp: later() };
    expect(await tokens.verify(`${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`)).toBeNull();
    expect(await tokens.verify(`${b64({ alg: "none" })}.${b64(claims)}`)).toBeNull();
    expect(await tokens.verify(hs256(key, { alg: "HS512", typ: "JWT" }, claims))).toBeNull();
    expect(await tokens.verify(hs256(key, { typ: "JWT", alg: "HS256" }, claims))).toBeNull();
    const valid = await tokens.sign(userId, signInId);
    expect(await tokens.verify(`${valid}.x`)).toBeNull();
    expect(await tokens.verify("")).toBeNull();
    expect(await tokens.verify("a.b.c")).toBeNull();
  });

  test("an expired token, or one without exp, is refused", async () => {
    const past = Math.floor(Date.now() / 1000) - 1;
    const header = { alg: "HS256", typ: "JWT" };
    expect(await tokens.verify(hs256(key, header, { sub: userId, sid: signInId, exp: past }))).toBeNull();
    expect(await tokens.verify(hs256(key, header, { sub: userId, sid: signInId }))).toBeNull();
    expect(
      await tokens.verify(hs256(key, header, { sub: userId, sid: signInId, exp: "9999999999" })),
    ).toBeNull();
  });

  test("claims that are not ids are refused", async () => {
    const header = { alg: "HS256", typ: "JWT" };
    expect(await tokens.verify(hs256(key, header, { sub: "admin", sid: signInId, exp: later() }))).toBeNull();
    expect(await tokens.verify(hs256(key, header, { sub: userId, exp: later() }))).toBeNull();
    expect(await tokens.verify(hs256(key, header, [userId, signInId]))).toBeNull();
  });
});
