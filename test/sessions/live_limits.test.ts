// A plan change reaches a live container: a real agent on the Docker engine runs the user's container;
// an administrator changes the plan and Docker's memory, CPU and pids limits follow at once, running
// and frozen (paused) alike. On both drivers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { asSystem } from "../../src/db/rls.ts";
import { users } from "../../src/db/schema.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { type Account, apiClient } from "../helpers/accounts.ts";
import { DRIVERS } from "../helpers/db.ts";
import {
  cleanupNode,
  dockerInspect,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
} from "../helpers/fleet.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";

const MB = 1024 * 1024;

for (const driver of DRIVERS) {
  describe(`plan limits on a live container [${driver}]`, () => {
    let agent: RunningAgent;
    let server: TestServer;
    let admin: Account;
    const api = apiClient(() => server);

    beforeAll(async () => {
      await ensureRuntimeImage();
      agent = await startTestAgent();
      server = await startTestServer(driver, { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
      await addNode(server.ctx.database.db, {
        name: `node-${driver}`,
        url: agent.url,
        fingerprint: agent.fingerprint,
      });
      await server.reconcile();
      admin = await api.signup();
      await asSystem(server.ctx.database.db, (tx) =>
        tx.update(users).set({ isAdmin: true }).where(eq(users.id, admin.userId)),
      );
    });
    afterAll(async () => {
      await server?.close();
      await agent?.stop();
      if (agent) await cleanupNode(agent.nodeId);
    });

    async function waitForState(user: Account, state: string) {
      const deadline = Date.now() + 90_000;
      let view: Record<string, any> = {};
      while (Date.now() < deadline) {
        view = await json(await api.call("GET", "/session", undefined, user.access));
        if (view.state === state) return view;
        if (view.state === "failed") throw new Error(`spawn failed: ${view.failure_reason}`);
        await Bun.sleep(250);
      }
      throw new Error(`never reached ${state}: ${JSON.stringify(view)}`);
    }

    const hostConfig = (id: string) => dockerInspect(id)?.HostConfig as Record<string, number>;

    test("running and frozen containers get the new memory, CPU and pids limits at once", async () => {
      const user = await api.signup();
      expect((await api.call("POST", "/session/spawn", {}, user.access)).status).toBe(202);
      const view = await waitForState(user, "running");
      expect(view.container_id).toMatch(/^[0-9a-f]{64}$/);
      expect(view.hostname).toBe(view.container_id.slice(0, 12));
      expect(hostConfig(view.container_id)).toMatchObject({
        Memory: 512 * MB,
        NanoCpus: 500_000_000,
        PidsLimit: 256,
      });

      const pro = await api.call("PUT", `/admin/users/${user.userId}/plan`, { plan: "pro" }, admin.access);
      expect(await json(pro)).toMatchObject({ plan: "pro", container_limits: "live" });
      expect(hostConfig(view.container_id)).toMatchObject({
        Memory: 1024 * MB,
        MemorySwap: 1024 * MB,
        NanoCpus: 1_000_000_000,
        PidsLimit: 512,
      });

      expect((await api.call("POST", "/session/freeze", {}, user.access)).status).toBe(202);
      await waitForState(user, "frozen");
      const ultra = await api.call(
        "PUT",
        `/admin/users/${user.userId}/plan`,
        { plan: "ultra" },
        admin.access,
      );
      expect(await json(ultra)).toMatchObject({ plan: "ultra", container_limits: "live" });
      expect(hostConfig(view.container_id)).toMatchObject({
        Memory: 2048 * MB,
        NanoCpus: 2_000_000_000,
        PidsLimit: 1024,
      });
      expect(dockerInspect(view.container_id)?.State.Paused).toBe(true);

      expect((await api.call("POST", "/session/kill", {}, user.access)).status).toBe(202);
    });

    test("the agent refuses malformed limits with a 400", async () => {
      const { AgentClient } = await import("../../agent/api/client.ts");
      const { parseKeyring } = await import("../../common/keyring.ts");
      const client = new AgentClient({
        url: agent.url,
        fingerprint: agent.fingerprint,
        keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
      });
      const sessionId = crypto.randomUUID();
      for (const limits of [
        { cpuMillis: 1, memoryMb: 512, pidsLimit: 256 },
        { cpuMillis: 500, memoryMb: 512 },
        { cpuMillis: 500, memoryMb: 512, pidsLimit: 256, Privileged: true },
      ]) {
        await expect(client.updateLimits(sessionId, limits as never)).rejects.toMatchObject({ status: 400 });
      }
      await expect(
        client.updateLimits(sessionId, { cpuMillis: 500, memoryMb: 512, pidsLimit: 256 }),
      ).rejects.toMatchObject({ status: 404 });
    });
  });
}
