// Plans changed by an administrator (API), the RateLimit headers that follow them, and the
// EasyClaw-compatible session shape, on both drivers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { asSystem } from "../../src/db/rls.ts";
import { agentSessions, auditLog, users } from "../../src/db/schema.ts";
import { type Account, apiClient } from "../helpers/accounts.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

for (const driver of DRIVERS) {
  describe(`plans and session shape [${driver}]`, () => {
    let server: TestServer;
    let admin: Account;
    const api = apiClient(() => server);

    beforeAll(async () => {
      server = await startTestServer(driver);
      admin = await api.signup();
      await asSystem(server.ctx.database.db, (tx) =>
        tx.update(users).set({ isAdmin: true }).where(eq(users.id, admin.userId)),
      );
    });
    afterAll(() => server.close());

    test("responses carry RateLimit headers that follow a plan change at once", async () => {
      const user = await api.signup();
      const before = await api.call("GET", "/session", undefined, user.access);
      expect(before.headers.get("ratelimit-limit")).toBe("30");
      const remaining = Number(before.headers.get("ratelimit-remaining"));
      expect(remaining).toBeLessThan(30);
      expect(Number(before.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
      expect(Number(before.headers.get("ratelimit-reset"))).toBeLessThanOrEqual(60);
      const next = await api.call("GET", "/session", undefined, user.access);
      expect(Number(next.headers.get("ratelimit-remaining"))).toBe(remaining - 1);

      const changed = await api.call(
        "PUT",
        `/admin/users/${user.userId}/plan`,
        { plan: "pro" },
        admin.access,
      );
      expect(changed.status).toBe(200);
      expect(await json(changed)).toEqual({
        user_id: user.userId,
        plan: "pro",
        container_limits: "no_container",
      });
      const after = await api.call("GET", "/session", undefined, user.access);
      expect(after.headers.get("ratelimit-limit")).toBe("120");
      expect((await json(after)).plan.id).toBe("pro");
      const [entry] = await asSystem(server.ctx.database.db, (tx) =>
        tx.select().from(auditLog).where(eq(auditLog.action, "admin.plan_changed")),
      );
      expect(entry).toMatchObject({ userId: user.userId, actorId: admin.userId, detail: { plan: "pro" } });
    });

    test("a user with a container is told the limits apply at its next spawn", async () => {
      const user = await api.signup();
      await asSystem(server.ctx.database.db, (tx) =>
        tx.insert(agentSessions).values({ userId: user.userId, state: "running", dockerId: "f".repeat(64) }),
      );
      const changed = await json(
        await api.call("PUT", `/admin/users/${user.userId}/plan`, { plan: "ultra" }, admin.access),
      );
      expect(changed.container_limits).toBe("next_spawn");
    });

    test("only administrators; unknown plans and users are clear 4xx and change nothing", async () => {
      const user = await api.signup();
      const self = await api.call("PUT", `/admin/users/${user.userId}/plan`, { plan: "ultra" }, user.access);
      expect(self.status).toBe(403);
      const unknown = await api.call(
        "PUT",
        `/admin/users/${user.userId}/plan`,
        { plan: "gold" },
        admin.access,
      );
      expect(unknown.status).toBe(400);
      expect((await json(unknown)).error.code).toBe("unknown_plan");
      const nobody = await api.call(
        "PUT",
        `/admin/users/${crypto.randomUUID()}/plan`,
        { plan: "pro" },
        admin.access,
      );
      expect(nobody.status).toBe(404);
      expect((await api.call("PUT", "/admin/users/nope/plan", { plan: "pro" }, admin.access)).status).toBe(
        404,
      );
      expect((await api.call("PUT", `/admin/users/${user.userId}/plan`, {}, admin.access)).status).toBe(400);
      const me = await json(await api.call("GET", "/auth/me", undefined, user.access));
      expect(me.user.plan).toBe("free");
    });

    test("GET /session: status, container_id, hostname and the creation time", async () => {
      const user = await api.signup();
      const none = await json(await api.call("GET", "/session", undefined, user.access));
      expect(none).toMatchObject({
        state: "none",
        status: "none",
        container_id: null,
        hostname: null,
        created_at: null,
      });
      const created = new Date(Date.now() - 3600_000);
      const dockerId = "0123456789abcdef".repeat(4);
      await asSystem(server.ctx.database.db, (tx) =>
        tx.insert(agentSessions).values({
          userId: user.userId,
          state: "frozen",
          dockerId,
          createdAt: created,
          updatedAt: new Date(),
        }),
      );
      const view = await json(await api.call("GET", "/session", undefined, user.access));
      expect(view).toMatchObject({
        state: "frozen",
        status: "frozen",
        container_id: dockerId,
        hostname: dockerId.slice(0, 12),
        created_at: created.toISOString(),
      });
    });

    test("POST /session/spawn checks the optional {template, provider, model}", async () => {
      const user = await api.signup();
      for (const [body, code] of [
        [{ template: "openclaw-unknown" }, "template_not_allowed"],
        [{ provider: "acme" }, "invalid_provider"],
        [{ model: "x".repeat(201) }, "invalid_model"],
        [{ model: "<script>" }, "invalid_model"],
        [{ image: "alpine" }, "invalid_request"],
        [[1, 2], "invalid_request"],
      ] as const) {
        const response = await api.call("POST", "/session/spawn", body, user.access);
        expect(response.status).toBe(400);
        expect((await json(response)).error.code).toBe(code);
      }
      expect((await json(await api.call("GET", "/session", undefined, user.access))).state).toBe("none");
      const ok = await api.call(
        "POST",
        "/session/spawn",
        { template: "clawfleet-runtime", provider: "anthropic", model: "claude-sonnet-4.5" },
        user.access,
      );
      expect(ok.status).toBe(202);
      const body = await json(ok);
      expect(body.status).toBe("spawning");
      expect(body).toHaveProperty("container_id");
      expect(body).toHaveProperty("hostname");
    });
  });
}
