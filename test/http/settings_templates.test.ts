// The user's assistant settings (GET/PUT /api/v1/settings) and template choice at spawn (admins enable
// templates with /api/v1/admin/templates), on both drivers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { asSystem, asUser } from "../../src/db/rls.ts";
import { agentSessions, auditLog, userSettings, users } from "../../src/db/schema.ts";
import { type Account, apiClient } from "../helpers/accounts.ts";
import { DRIVERS } from "../helpers/db.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

for (const driver of DRIVERS) {
  describe(`settings and templates [${driver}]`, () => {
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

    test("settings start at their defaults, are saved, and stay the user's own", async () => {
      const user = await api.signup();
      const other = await api.signup();
      const initial = await json(await api.call("GET", "/settings", undefined, user.access));
      expect(initial).toEqual({
        default_provider: null,
        default_model: null,
        system_prompt: "",
        shell_mode: "ask",
        updated_at: null,
      });
      const prompt = `You are Ada, user ${crypto.randomUUID()}.`;
      const put = await api.call(
        "PUT",
        "/settings",
        {
          default_provider: "anthropic",
          default_model: "claude-sonnet-4-5",
          system_prompt: prompt,
          shell_mode: "run",
        },
        user.access,
      );
      expect(put.status).toBe(200);
      expect(await json(put)).toMatchObject({
        default_provider: "anthropic",
        default_model: "claude-sonnet-4-5",
        system_prompt: prompt,
        shell_mode: "run",
      });
      // A partial update keeps the rest.
      await api.call("PUT", "/settings", { shell_mode: "ask" }, user.access);
      const got = await json(await api.call("GET", "/settings", undefined, user.access));
      expect(got).toMatchObject({ default_provider: "anthropic", system_prompt: prompt, shell_mode: "ask" });
      expect((await json(await api.call("GET", "/settings", undefined, other.access))).system_prompt).toBe(
        "",
      );
      // RLS: as the other user, the row does not exist.
      const seen = await asUser(server.ctx.database.db, other.userId, (tx) =>
        tx.select().from(userSettings).where(eq(userSettings.userId, user.userId)),
      );
      expect(seen).toEqual([]);
      // The audit names the fields, never the prompt.
      const entries = await asSystem(server.ctx.database.db, (tx) =>
        tx.select().from(auditLog).where(eq(auditLog.action, "settings.update")),
      );
      const mine = entries.filter((e) => e.userId === user.userId);
      expect(mine[0]?.detail).toEqual({
        fields: ["default_provider", "default_model", "system_prompt", "shell_mode"],
      });
      expect(JSON.stringify(entries)).not.toContain(prompt);
      // Clearing with null goes back to the container's defaults.
      const cleared = await json(
        await api.call("PUT", "/settings", { default_provider: null, default_model: "" }, user.access),
      );
      expect(cleared).toMatchObject({ default_provider: null, default_model: null });
    });

    test("bad settings are refused with a clear 4xx and change nothing", async () => {
      const user = await api.signup();
      await api.call("PUT", "/settings", { system_prompt: "keep me" }, user.access);
      for (const [body, code] of [
        [{ default_provider: "skynet" }, "invalid_provider"],
        [{ default_model: "<script>" }, "invalid_model"],
        [{ default_model: "m".repeat(101) }, "invalid_model"],
        [{ system_prompt: "x".repeat(8001) }, "invalid_system_prompt"],
        [{ system_prompt: 42 }, "invalid_system_prompt"],
        [{ shell_mode: "always" }, "invalid_shell_mode"],
        [{ colour: "blue" }, "invalid_request"],
        [[1], "invalid_request"],
        [{ system_prompt: "changed", shell_mode: "sometimes" }, "invalid_shell_mode"],
      ] as const) {
        const response = await api.call("PUT", "/settings", body, user.access);
        expect(response.status).toBe(400);
        expect((await json(response)).error.code).toBe(code);
      }
      const raw = await fetch(`${server.url}/api/v1/settings`, {
        method: "PUT",
        headers: { authorization: `Bearer ${user.access}`, "content-type": "application/json" },
        body: "{not json",
      });
      expect(raw.status).toBe(400);
      expect((await json(await api.call("GET", "/settings", undefined, user.access))).system_prompt).toBe(
        "keep me",
      );
      expect((await api.call("GET", "/settings")).status).toBe(401);
    });

    test("templates: only enabled ones can be picked; an admin enables openclaw and it is spawned", async () => {
      const user = await api.signup();
      expect(await json(await api.call("GET", "/templates", undefined, user.access))).toEqual({
        templates: ["clawfleet-runtime"],
      });
      const refused = await api.call("POST", "/session/spawn", { template: "openclaw" }, user.access);
      expect(refused.status).toBe(400);
      const error = (await json(refused)).error;
      expect(error.code).toBe("template_not_allowed");
      expect(error.message).toContain("clawfleet-runtime");
      expect((await json(await api.call("GET", "/session", undefined, user.access))).state).toBe("none");

      expect(
        (await api.call("PUT", "/admin/templates", { templates: ["openclaw"] }, user.access)).status,
      ).toBe(403);
      for (const body of [{ templates: [] }, { templates: ["Bad Name"] }, { templates: "openclaw" }, {}]) {
        const bad = await api.call("PUT", "/admin/templates", body, admin.access);
        expect(bad.status).toBe(400);
      }
      const enabled = await api.call(
        "PUT",
        "/admin/templates",
        { templates: ["clawfleet-runtime", "openclaw"] },
        admin.access,
      );
      expect(await json(enabled)).toEqual({ templates: ["clawfleet-runtime", "openclaw"] });
      expect(
        (await json(await api.call("GET", "/admin/templates", undefined, admin.access))).known,
      ).toContain("openclaw");

      const spawned = await api.call(
        "POST",
        "/session/spawn",
        { template: "openclaw", provider: "openai", model: "gpt-4.1" },
        user.access,
      );
      expect(spawned.status).toBe(202);
      expect((await json(spawned)).template).toBe("openclaw");
      const [row] = await asSystem(server.ctx.database.db, (tx) =>
        tx.select().from(agentSessions).where(eq(agentSessions.userId, user.userId)),
      );
      expect(row?.template).toBe("openclaw");
      // The spawn's provider and model became the user's chat defaults.
      expect(await json(await api.call("GET", "/settings", undefined, user.access))).toMatchObject({
        default_provider: "openai",
        default_model: "gpt-4.1",
      });
      await api.call("PUT", "/admin/templates", { templates: ["clawfleet-runtime"] }, admin.access);
    });
  });
}
