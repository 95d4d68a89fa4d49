// A node whose disk cannot hold the plan's preallocated volume: the spawn fails at once with a
// reason the user can read (not "unreachable", retried until the spawn timeout), and leaves nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { DRIVERS } from "../helpers/db.ts";
import { cleanupNode, ensureRuntimeImage, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

for (const driver of DRIVERS) {
  describe(`a node out of disk [${driver}]`, () => {
    let server: TestServer;
    let agent: RunningAgent;
    let token = "";
    let dataDir = "";
    const api = (path: string, method = "GET") =>
      fetch(`${server.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` } });

    beforeAll(async () => {
      await ensureRuntimeImage();
      // A 96 MiB tmpfs the test owns stands in for a nearly full node disk.
      dataDir = tempDir("cf-agent-full");
      expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", dataDir]).exitCode).toBe(0);
      agent = await startTestAgent({ CLAWFLEET_AGENT_DATA_DIR: dataDir });
      server = await startTestServer(driver, { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
      await addNode(server.ctx.database.db, { name: "n1", url: agent.url, fingerprint: agent.fingerprint });
      await server.reconcile();
      const signup = await json(
        await fetch(`${server.url}/api/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            email: `disk-${driver}@example.test`,
            password: "correct horse battery staple",
          }),
        }),
      );
      token = signup.access_token;
      await server.ctx.database.db.execute(
        sql`update users set plan_id = 'ultra' where id = ${signup.user.id}`,
      );
    });

    afterAll(async () => {
      await server?.close();
      await agent?.stop();
      if (agent) await cleanupNode(agent.nodeId, dataDir);
      Bun.spawnSync(["umount", dataDir]);
      rmSync(dataDir, { recursive: true, force: true });
    });

    test("the spawn fails with a readable reason, and no container, image or partial file is left", async () => {
      expect((await api("/session/spawn", "POST")).status).toBe(202);
      const failed = await waitFor(
        "failed",
        async () => json(await api("/session")),
        (s) => s.state === "failed" || s.state === "running",
        15_000,
        250,
      );
      expect(failed.state).toBe("failed");
      expect(failed.failure_reason).toMatch(/no disk left/);
      const containers = Bun.spawnSync([
        "docker",
        "ps",
        "-aq",
        "--filter",
        `label=clawfleet.node=${agent.nodeId}`,
        "--filter",
        "label=clawfleet.managed=1",
      ]);
      // No session container (a warm-pool sandbox, nobody's, may wait).
      expect(containers.stdout.toString().trim()).toBe("");
      const images = join(dataDir, "volumes");
      const left = existsSync(images) ? readdirSync(images, { recursive: true }).map(String) : [];
      expect(left.filter((f) => f.endsWith(".img") || f.endsWith(".partial"))).toEqual([]);
    });

    test("with a plan the disk can hold, the next spawn runs", async () => {
      await server.ctx.database.db.execute(sql`update plans set disk_mb = 64 where id = 'ultra'`);
      expect((await api("/session/spawn", "POST")).status).toBe(202);
      const running = await waitFor(
        "running",
        async () => json(await api("/session")),
        (s) => s.state === "running" || s.state === "failed",
        60_000,
        250,
      );
      expect(running).toMatchObject({ state: "running" });
    });
  });
}
