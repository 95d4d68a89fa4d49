// Idle auto-freeze, node administration, usage and the audit trail, and the all-in-one mode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { eq, sql } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { agentSessions, users, volumeKeys } from "../../src/db/schema.ts";
import { DRIVERS } from "../helpers/db.ts";
import { cleanupNode, ensureRuntimeImage, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const PASSWORD = "correct horse battery staple";

/** Polls until `ok` holds, and returns the last value either way (the test's expect says what failed). */
async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  return waitFor("a state", fn, ok, timeoutMs).catch(() => fn());
}

async function signup(server: TestServer, admin = false) {
  const body = await json(
    await fetch(`${server.url}/api/v1/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: `op-${crypto.randomUUID().slice(0, 8)}@example.test`,
        password: PASSWORD,
      }),
    }),
  );
  await asSystem(server.ctx.database.db, (tx) =>
    tx.update(users).set({ planId: "ultra", isAdmin: admin }).where(eq(users.id, body.user.id)),
  );
  const call = async (path: string, method = "GET", payload?: unknown) => {
    const r = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${body.access_token}`, "content-type": "application/json" },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    return { status: r.status, body: r.status === 204 ? null : await json(r) };
  };
  return { id: body.user.id as string, token: body.access_token as string, call };
}

for (const driver of DRIVERS) {
  describe(`operations [${driver}]`, () => {
    let server: TestServer;
    let agent: RunningAgent;
    beforeAll(async () => {
      await ensureRuntimeImage();
      agent = await startTestAgent({ CLAWFLEET_AGENT_CAPACITY: "cpu=16000,memory=16000,containers=20" });
      server = await startTestServer(driver, { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
    });
    afterAll(async () => {
      await server?.close();
      await agent?.stop();
      if (agent) await cleanupNode(agent.nodeId);
    });

    test("admins register, list, drain and remove nodes; others get 403; bad input is 400", async () => {
      const admin = await signup(server, true);
      const user = await signup(server);
      const fingerprint = agent.fingerprint;
      expect((await user.call("/admin/nodes")).status).toBe(403);
      expect(
        (await admin.call("/admin/nodes", "POST", { name: "n1", url: "http://plain", fingerprint })).status,
      ).toBe(400);
      expect(
        (await admin.call("/admin/nodes", "POST", { name: "n1", url: agent.url, fingerprint: "nope" }))
          .status,
      ).toBe(400);
      const added = await admin.call("/admin/nodes", "POST", { name: "n1", url: agent.url, fingerprint });
      expect(added.status).toBe(201);
      expect(
        (await admin.call("/admin/nodes", "POST", { name: "n1", url: agent.url, fingerprint })).status,
      ).toBe(400);
      await server.reconcile();
      const listed = (await admin.call("/admin/nodes")).body;
      expect(listed?.nodes[0]).toMatchObject({ name: "n1", state: "active" });
      expect(listed?.nodes[0].capacity.memoryMb).toBeGreaterThan(0);
      expect(listed?.nodes[0].last_health.isolation.usernsRemap).toBe(true);
      expect((await admin.call(`/admin/nodes/${added.body?.id}/drain`, "POST")).body?.state).toBe("draining");
      // A draining node takes nothing new.
      const u = await signup(server);
      await u.call("/session/spawn", "POST");
      const s = await until(
        () => u.call("/session").then((r) => r.body),
        (v) => v?.state === "failed",
      );
      expect(s?.failure_reason).toMatch(/full/);
      expect((await admin.call(`/admin/nodes/${added.body?.id}/activate`, "POST")).body?.state).toBe(
        "active",
      );
      const audit = (await admin.call("/admin/audit")).body?.entries.map((e: { action: string }) => e.action);
      expect(audit).toContain("admin.node_added");
      expect(audit).toContain("admin.node_drain");
      expect(audit).toContain("session.spawn");
    });

    test("usage: live figures from the agent for the user, aggregates without user ids for admins", async () => {
      const u = await signup(server);
      await u.call("/session/spawn", "POST");
      await until(
        () => u.call("/session").then((r) => r.body),
        (v) => v?.state === "running",
      );
      const usage = (await u.call("/usage")).body;
      expect(usage?.state).toBe("running");
      expect(usage?.live.memory_limit_bytes).toBe(2048 * 1024 * 1024);
      expect(usage?.live.pids).toBeGreaterThan(0);
      await server.reconcile();
      const admin = await signup(server, true);
      const days = (await admin.call("/admin/usage")).body?.days;
      const today = days.find((d: { plan: string }) => d.plan === "ultra");
      expect(today.spawns).toBeGreaterThanOrEqual(1);
      expect(today.container_seconds).toBeGreaterThan(0);
      const columns = rowsOf<{ column_name: string }>(
        await server.ctx.database.db.execute(
          sql`select column_name from information_schema.columns where table_name = 'usage_daily'`,
        ),
      ).map((c) => c.column_name);
      expect(columns).not.toContain("user_id");
      expect(columns.sort()).toEqual(["active_users", "container_seconds", "day", "plan_id", "spawns"]);
    });

    test("a container idle longer than its plan allows is frozen, and restored on the next connection", async () => {
      const u = await signup(server);
      await u.call("/session/spawn", "POST");
      await until(
        () => u.call("/session").then((r) => r.body),
        (v) => v?.state === "running",
      );
      await asSystem(server.ctx.database.db, (tx) =>
        tx
          .update(agentSessions)
          .set({ lastActivityAt: new Date(Date.now() - 9 * 3600_000) })
          .where(eq(agentSessions.userId, u.id)),
      );
      await server.reconcile();
      expect((await u.call("/session")).body?.state).toBe("frozen");
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/gateway`, {
        headers: { authorization: `Bearer ${u.token}` },
      } as never);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      ws.close();
      expect((await u.call("/session")).body?.state).toBe("running");
    });

    test("deleting the account kills the container and its data, the volume key first", async () => {
      const u = await signup(server);
      await u.call("/session/spawn", "POST");
      await until(
        () => u.call("/session").then((r) => r.body),
        (v) => v?.state === "running",
      );
      const [row] = await asSystem(server.ctx.database.db, (tx) =>
        tx.select().from(agentSessions).where(eq(agentSessions.userId, u.id)),
      );
      const sessionId = row?.id ?? "";
      const image = agent.manager.volumes.imagePath(sessionId);
      expect(existsSync(image)).toBe(true);
      const keyRows = async () =>
        (
          await asSystem(server.ctx.database.db, (tx) =>
            tx.select().from(volumeKeys).where(eq(volumeKeys.sessionId, sessionId)),
          )
        ).length;
      expect(await keyRows()).toBe(1);
      expect((await u.call("/account", "DELETE", { password: PASSWORD })).status).toBe(204);
      expect(await agent.manager.get(sessionId)).toBeNull();
      expect(await keyRows()).toBe(0);
      expect(existsSync(image)).toBe(false);
    });
  });
}

describe("all-in-one: serve with a local Docker socket and no nodes runs its own agent", () => {
  let server: TestServer;
  beforeAll(async () => {
    await ensureRuntimeImage();
    server = await startTestServer("pglite", { env: { DOCKER_SOCKET: "/var/run/docker.sock" } });
  });
  afterAll(async () => {
    await server?.close();
  });

  test("a user can spawn and reach a container with no configuration", async () => {
    const u = await signup(server);
    await u.call("/session/spawn", "POST");
    const s = await until(
      () => u.call("/session").then((r) => r.body),
      (v) => v?.state === "running" || v?.state === "failed",
    );
    expect(s?.failure_reason ?? s?.state).toBe("running");
    expect(s?.node).toBe("local");
    // The local agent's gateway is linked in-process: no warning that the server is unset.
    expect(server.logs.join("\n")).not.toContain("CLAWFLEET_SERVER_URL is not set");
    expect(server.logs.join("\n")).toContain("local agent");
    const killed = await u.call("/session/kill", "POST");
    expect(killed.body?.state).toBe("none");
  });
});
