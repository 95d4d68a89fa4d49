import { describe, expect, test } from "bun:test";
import { loadTemplates, TemplateError } from "../../agent/templates.ts";
import { appSlugOf, safeNext } from "../../src/apps/app_host.ts";
import { SpentTickets, signGrant, TICKET_SECONDS, verifyGrant } from "../../src/apps/app_tokens.ts";

const secret = new Uint8Array(32).fill(7);
const other = new Uint8Array(32).fill(8);
const grant = {
  kind: "ticket" as const,
  userId: crypto.randomUUID(),
  authSessionId: crypto.randomUUID(),
  slug: "abcdefghijkl",
};

describe("app tickets and cookies", () => {
  test("a ticket verifies for its kind and slug only, until it expires", async () => {
    const now = Date.now();
    const token = await signGrant(secret, grant, now);
    expect(await verifyGrant(secret, token, "ticket", grant.slug, now)).toMatchObject(grant);
    expect(await verifyGrant(secret, token, "app", grant.slug, now)).toBeNull();
    expect(await verifyGrant(secret, token, "ticket", "mnopqrstuvwx", now)).toBeNull();
    expect(await verifyGrant(other, token, "ticket", grant.slug, now)).toBeNull();
    expect(
      await verifyGrant(secret, token, "ticket", grant.slug, now + (TICKET_SECONDS + 2) * 1000),
    ).toBeNull();
  });

  test("a changed payload or signature is refused", async () => {
    const token = await signGrant(secret, grant);
    const [body, signature] = token.split(".") as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, "base64url").toString()), slug: "mnopqrstuvwx" }),
    ).toString("base64url");
    expect(await verifyGrant(secret, `${forged}.${signature}`, "ticket", "mnopqrstuvwx")).toBeNull();
    expect(await verifyGrant(secret, `${body}.${signature.slice(0, -2)}AA`, "ticket", grant.slug)).toBeNull();
    expect(await verifyGrant(secret, `${token}.x`, "ticket", grant.slug)).toBeNull();
    expect(await verifyGrant(secret, "garbage", "ticket", grant.slug)).toBeNull();
  });

  test("a ticket is good once", () => {
    const spent = new SpentTickets();
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(spent.spend("n1", exp)).toBe(true);
    expect(spent.spend("n1", exp)).toBe(false);
    expect(spent.spend("n2", exp)).toBe(true);
  });

  test("app hosts and return paths", () => {
    expect(appSlugOf("abcdefghijkl.apps.example.com:8443", "apps.example.com")).toBe("abcdefghijkl");
    expect(appSlugOf("ABCDEFGHIJKL.apps.example.com", "apps.example.com")).toBe("abcdefghijkl");
    expect(appSlugOf("x.abcdefghijkl.apps.example.com", "apps.example.com")).toBeNull();
    expect(appSlugOf("apps.example.com", "apps.example.com")).toBeNull();
    expect(appSlugOf("abcdefghijkl.apps.example.com.evil.test", "apps.example.com")).toBeNull();
    expect(safeNext("/app?x=1")).toBe("/app?x=1");
    for (const bad of ["//evil.test/", "/\\evil.test", "https://evil.test/", "app", null])
      expect(safeNext(bad)).toBe("/");
  });
});

describe("templates: hook path and app port", () => {
  const base = { name: "t1", image: "example/t1:1", port: 8080, user: "1000:1000", dataPath: "/data" };
  test("accepted when well formed; OpenClaw declares both", () => {
    const [t] = loadTemplates(JSON.stringify([{ ...base, hookPath: "/hooks", appPort: 8080 }])).slice(-1);
    expect(t).toMatchObject({ hookPath: "/hooks", appPort: 8080 });
    expect(loadTemplates(null).find((x) => x.name === "openclaw")).toMatchObject({
      hookPath: "/hooks",
      appPort: 18789,
    });
  });
  test.each([
    [{ hookPath: "hooks" }, /hookPath/],
    [{ hookPath: "/a/../b" }, /hookPath/],
    [{ appPort: 9090 }, /appPort/],
  ])("refused: %p", (extra, message) => {
    expect(() => loadTemplates(JSON.stringify([{ ...base, ...extra }]))).toThrow(TemplateError);
    expect(() => loadTemplates(JSON.stringify([{ ...base, ...extra }]))).toThrow(message);
  });
});
