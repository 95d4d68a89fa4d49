// Personal access tokens on both drivers: shown once, stored hashed, usable as Bearer except for
// password, two-factor and token management; last-used time; expiry; revocation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { asSystem } from "../../src/db/rls.ts";
import { personalTokens } from "../../src/db/schema.ts";
import { apiClient, databaseContains, NEW_PASSWORD, PASSWORD } from "../helpers/accounts.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

for (const driver of DRIVERS) {
  describe(`personal access tokens [${driver}]`, () => {
    let server: TestServer;
    const api = apiClient(() => server);

    beforeAll(async () => {
      server = await startTestServer(driver);
    });
    afterAll(() => server.close());

    test("created once with the cfp_ prefix, stored hashed, listed without the secret", async () => {
      const account = await api.signup();
      const created = await api.call("POST", "/tokens", { name: "ci", expires_in_days: 30 }, account.access);
      expect(created.status).toBe(201);
      const body = await json(created);
      expect(body.token).toMatch(/^cfp_[A-Za-z0-9_-]{43}$/);
      expect(body.id).toBeString();
      expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
      expect(await databaseContains(server, body.token)).toEqual([]);
      expect(await databaseContains(server, body.token.slice(4))).toEqual([]);
      expect(server.logs.join("\n")).not.toContain(body.token.slice(4));

      const listed = await json(await api.call("GET", "/tokens", undefined, account.access));
      expect(listed.tokens).toHaveLength(1);
      expect(listed.tokens[0]).toMatchObject({ id: body.id, name: "ci", last_used_at: null });
      expect(JSON.stringify(listed)).not.toContain(body.token);
    });

    test("valid as Bearer for the API, with the last-used time recorded", async () => {
      const account = await api.signup();
      const { token, id } = await json(await api.call("POST", "/tokens", { name: "script" }, account.access));
      const session = await api.call("GET", "/session", undefined, token);
      expect(session.status).toBe(200);
      const me = await json(await api.call("GET", "/auth/me", undefined, token));
      expect(me.user.id).toBe(account.userId);
      const [row] = await asSystem(server.ctx.database.db, (tx) =>
        tx.select().from(personalTokens).where(eq(personalTokens.id, id)),
      );
      expect(row?.lastUsedAt).toBeInstanceOf(Date);
      expect(row?.expiresAt).toBeNull();
    });

    test("refused for password, two-factor, token management and account deletion", async () => {
      const account = await api.signup();
      const { token } = await json(await api.call("POST", "/tokens", { name: "limited" }, account.access));
      const refused = [
        await api.call("GET", "/tokens", undefined, token),
        await api.call("POST", "/tokens", { name: "more" }, token),
        await api.call(
          "POST",
          "/auth/password",
          { current_password: PASSWORD, new_password: NEW_PASSWORD },
          token,
        ),
        await api.call("POST", "/auth/totp/setup", {}, token),
        await api.call("DELETE", "/account", { password: PASSWORD }, token),
        await api.call("GET", "/account/export", undefined, token),
      ];
      for (const response of refused) {
        expect(response.status).toBe(403);
        expect((await json(response)).error.code).toBe("sign_in_required");
      }
      expect((await api.login(account.email, PASSWORD)).status).toBe(200);
    });

    test("revoked and expired tokens stop working; another user's token cannot be revoked", async () => {
      const owner = await api.signup();
      const other = await api.signup();
      const a = await json(await api.call("POST", "/tokens", { name: "a" }, owner.access));
      const b = await json(
        await api.call("POST", "/tokens", { name: "b", expires_in_days: 1 }, owner.access),
      );
      expect((await api.call("DELETE", `/tokens/${a.id}`, undefined, other.access)).status).toBe(404);
      expect((await api.call("DELETE", `/tokens/${a.id}`, undefined, owner.access)).status).toBe(204);
      expect((await api.call("GET", "/session", undefined, a.token)).status).toBe(401);
      expect((await api.call("DELETE", `/tokens/${a.id}`, undefined, owner.access)).status).toBe(404);
      expect((await api.call("DELETE", "/tokens/not-a-uuid", undefined, owner.access)).status).toBe(404);

      expect((await api.call("GET", "/session", undefined, b.token)).status).toBe(200);
      await asSystem(server.ctx.database.db, (tx) =>
        tx
          .update(personalTokens)
          .set({ expiresAt: new Date(Date.now() - 1000) })
          .where(eq(personalTokens.id, b.id)),
      );
      expect((await api.call("GET", "/session", undefined, b.token)).status).toBe(401);
      expect((await api.call("GET", "/session", undefined, `cfp_${"A".repeat(43)}`)).status).toBe(401);
    });

    test("bad input is a 400 and creates nothing", async () => {
      const account = await api.signup();
      for (const body of [
        { name: "" },
        { name: "x".repeat(101) },
        { name: "ok", expires_in_days: 0 },
        { name: "ok", expires_in_days: 5000 },
        { name: "ok", expires_in_days: 1.5 },
        { name: 12 },
        {},
      ]) {
        const response = await api.call("POST", "/tokens", body, account.access);
        expect(response.status).toBe(400);
        expect((await json(response)).error.code).toBeString();
      }
      const listed = await json(await api.call("GET", "/tokens", undefined, account.access));
      expect(listed.tokens).toEqual([]);
    });
  });
}
