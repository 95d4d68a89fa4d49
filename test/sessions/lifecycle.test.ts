import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { rowsOf } from "../../src/db/client.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { volumeKeyFor } from "../../src/secrets/volume_keys.ts";
import { DRIVERS } from "../helpers/db.ts";
import {
  cleanupNode,
  dockerInspect,
  dockerLeftovers,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
} from "../helpers/fleet.ts";
import { json, startTestServer, TEST_DISK_MB, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const PASSWORD = "correct horse battery staple";

for (const driver of DRIVERS) {
  describe(`session lifecycle against a real agent and engine [${driver}]`, () => {
    let server: TestServer;
    let agent: RunningAgent;
    let token = "";
    const agentLogs: string[] = [];
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}/api/v1${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          ...(init.headers ?? {}),
        },
      });
    const session = async () => json(await api("/session"));

    beforeAll(async () => {
      await ensureRuntimeImage();
      agent = await startTestAgent({}, agentLogs);
      server = await startTestServer(driver, { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
      await addNode(server.ctx.database.db, { name: "n1", url: agent.url, fingerprint: agent.fingerprint });
      await server.reconcile();
      const signup = await json(
        await fetch(`${server.url}/api/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: `life-${driver}@example.test`, password: PASSWORD }),
        }),
      );
      token = signup.access_token;
      // A paid plan, so the API rate limit does not get in the way of polling.
      await server.ctx.database.db.execute(
        `update users set plan_id = 'ultra' where id = '${signup.user.id}'` as never,
      );
    });

    afterAll(async () => {
      await server?.close();
      await agent?.stop();
      if (agent) await cleanupNode(agent.nodeId);
    });

    test("no container at first", async () => {
      expect(await session()).toMatchObject({ state: "none", node: null, progress: null });
    });

    test("concurrent spawns yield one container; progress is visible until running", async () => {
      const add = await api("/credentials", {
        method: "POST",
        body: JSON.stringify({ provider: "openai", key: "sk-proj-lifecycle-test-key-0123456789" }),
      });
      expect(add.status).toBe(201);
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => api("/session/spawn", { method: "POST" })),
      );
      for (const r of responses) expect(r.status).toBe(202);
      const seen = new Set<string>();
      const running = await waitFor(
        "running",
        async () => {
          const s = await session();
          if (s.progress) seen.add(s.progress);
          return s;
        },
        (s) => s.state === "running",
      );
      expect(running.node).toBe("n1");
      expect(running.progress).toBe("ready");
      expect(seen.has("ready")).toBe(true);
      const containers = await agent.manager.list();
      expect(containers).toHaveLength(1);
      const inspect = dockerInspect(containers[0]?.dockerId ?? "");
      // The key stays with the node's provider gateway: the container holds its credential instead.
      expect(inspect?.Config.Env.some((e: string) => /^OPENAI_API_KEY=cfgw_[0-9a-f]{64}$/.test(e))).toBe(
        true,
      );
      expect(JSON.stringify(inspect)).not.toContain("sk-proj-lifecycle-test-key-0123456789");
      expect(JSON.stringify(inspect?.Config.Labels)).not.toContain("sk-proj");
      expect(server.logs.join("\n")).not.toContain("sk-proj-lifecycle-test-key-0123456789");
    });

    test("the gateway WebSocket reaches the container through server and agent", async () => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/gateway`, {
        headers: { authorization: `Bearer ${token}` },
      } as never);
      const messages: any[] = [];
      ws.onmessage = (e) => messages.push(JSON.parse(String(e.data)));
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      ws.send(JSON.stringify({ type: "history.list", id: "h1" }));
      await waitFor(
        "history reply",
        async () => messages,
        (m) => m.some((x) => x.type === "history.list"),
        10_000,
      );
      expect(messages[0]?.type).toBe("hello");
      ws.close();
    });

    test("10,000 messages through browser side → server → agent → container keep their order and content", async () => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/gateway`, {
        headers: { authorization: `Bearer ${token}` },
      } as never);
      const ids: string[] = [];
      let other = 0;
      ws.onmessage = (e) => {
        const message = JSON.parse(String(e.data));
        if (message.type === "pong") ids.push(message.id);
        else other++;
      };
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      const total = 10_000;
      const sent = Array.from({ length: total }, (_, i) => `m${i}-${"x".repeat(i % 50)}`);
      for (const id of sent) ws.send(JSON.stringify({ type: "ping", id }));
      await waitFor(
        "all pongs",
        async () => ids.length,
        (n) => n >= total,
        60_000,
      );
      expect(ids).toEqual(sent);
      expect(other).toBe(1); // the hello
      ws.close();
    });

    test("the terminal WebSocket runs a command in the container", async () => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/terminal`, {
        headers: { authorization: `Bearer ${token}` },
      } as never);
      ws.binaryType = "arraybuffer";
      let out = "";
      ws.onmessage = (e) => {
        out += typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
      };
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      ws.send(JSON.stringify({ type: "resize", cols: 100, rows: 30 }));
      ws.send("echo TERM-$((40+2)); id -u\n");
      await waitFor(
        "command output",
        async () => out,
        (o) => o.includes("TERM-42"),
        10_000,
      );
      expect(out).toContain("1000");
      ws.close();
    });

    test("freeze pauses the container, restore resumes it; a connection to a frozen one restores it", async () => {
      const frozen = await api("/session/freeze", { method: "POST" });
      expect(frozen.status).toBe(202);
      expect((await json(frozen)).state).toBe("frozen");
      const [container] = await agent.manager.list();
      expect(dockerInspect(container?.dockerId ?? "")?.State.Paused).toBe(true);
      expect((await api("/session/freeze", { method: "POST" })).status).toBe(202);
      const restored = await json(await api("/session/restore", { method: "POST" }));
      expect(restored.state).toBe("running");
      expect(dockerInspect(container?.dockerId ?? "")?.State.Paused).toBe(false);
      await api("/session/freeze", { method: "POST" });
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/gateway`, {
        headers: { authorization: `Bearer ${token}` },
      } as never);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      ws.close();
      expect((await session()).state).toBe("running");
    });

    test("GET /session?wait=N answers when the spawn changes, not after N seconds; a bad wait is a 400", async () => {
      for (const bad of ["0", "31", "abc", "1.5", "-1"]) {
        const r = await api(`/session?wait=${bad}`);
        expect(r.status).toBe(400);
        expect((await json(r)).error.code).toBe("invalid_wait");
      }
      // Not spawning: answered at once, whatever the wait.
      const started = performance.now();
      expect((await json(await api("/session?wait=30"))).state).toBe("running");
      expect(performance.now() - started).toBeLessThan(5_000);
      // A respawn: each long poll returns at a change of state or step; bounded by the loop's count.
      const [before] = await agent.manager.list();
      await api("/session/kill", { method: "POST" });
      expect((await api("/session/spawn", { method: "POST" })).status).toBe(202);
      const answers: { state: string; progress: string | null }[] = [];
      const waiting = performance.now();
      for (let i = 0; i < 20; i++) {
        const s = await json(await api("/session?wait=30"));
        answers.push({ state: s.state, progress: s.progress });
        if (s.state !== "spawning") break;
      }
      expect(answers.at(-1)).toEqual({ state: "running", progress: "ready" });
      // Had any answer waited for its 30 s instead of the change, this would be over 30 s.
      expect(performance.now() - waiting).toBeLessThan(25_000);
      const [after] = await agent.manager.list();
      expect(after?.sessionId).toBe(before?.sessionId ?? "");
      expect(after?.dockerId).not.toBe(before?.dockerId);
    });

    test("an unknown session action is a 404", async () => {
      const r = await api("/session/nonsense", { method: "POST" });
      expect(r.status).toBe(404);
    });

    test("a plan change reaches the running container's volume at the next reconcile", async () => {
      const [container] = await agent.manager.list();
      const sessionId = container?.sessionId ?? "";
      expect(container?.volumeMb).toBe(TEST_DISK_MB);
      const bigger = TEST_DISK_MB + 64;
      await server.ctx.database.db.execute(sql`update plans set disk_mb = ${bigger} where id = 'ultra'`);
      await server.reconcile();
      // The file always grows; the mounted filesystem grows online where the kernel lets the agent
      // resize (CAP_SYS_RESOURCE), otherwise at the volume's next attach (test/agent/volumes/).
      expect(Bun.file(agent.manager.volumes.imagePath(sessionId)).size).toBe(bigger * 1024 * 1024);
      const capEff = BigInt(
        `0x${/CapEff:\s+([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]}`,
      );
      expect(agent.manager.volumes.sizeMb(sessionId)).toBe((capEff >> 24n) & 1n ? bigger : TEST_DISK_MB);
    });

    test("kill removes the stored key, the container, its volume image and its network", async () => {
      const [container] = await agent.manager.list();
      const sessionId = container?.sessionId ?? "";
      const image = agent.manager.volumes.imagePath(sessionId);
      expect(existsSync(image)).toBe(true);
      expect(agent.manager.volumes.keyState(sessionId)).toBe("present");
      const keyRows = async () =>
        rowsOf(
          await server.ctx.database.db.execute(
            sql`select 1 from volume_keys where session_id = ${sessionId}`,
          ),
        ).length;
      expect(await keyRows()).toBe(1);
      // The key went to the node (the volume is unlocked) and reached no log on either side.
      const [owner] = rowsOf<{ user_id: string }>(
        await server.ctx.database.db.execute(sql`select user_id from agent_sessions where id = ${sessionId}`),
      );
      const key = await volumeKeyFor(server.ctx.database.db, server.ctx.keyring, {
        userId: owner?.user_id ?? "",
        sessionId,
      });
      expect(server.logs.join("\n")).not.toContain(key);
      expect(agentLogs.join("\n")).not.toContain(key);
      const network = dockerInspect(container?.dockerId ?? "")?.Config.Labels["clawfleet.network"];
      expect(dockerInspect(network)).not.toBeNull();
      const killed = await api("/session/kill", { method: "POST" });
      expect(killed.status).toBe(202);
      expect((await json(killed)).state).toBe("none");
      expect(await keyRows()).toBe(0);
      expect(existsSync(image)).toBe(false);
      expect(agent.manager.volumes.keyState(sessionId)).toBe("absent");
      expect(dockerLeftovers(sessionId)).toEqual({ containers: [], volumes: [], networks: [] });
      expect(dockerInspect(network)).toBeNull();
      expect((await api("/session/freeze", { method: "POST" })).status).toBe(409);
    });

    test("the reconciler removes the volume a half-finished kill left; a failed session's is kept for its next spawn", async () => {
      const spawnRunning = async () => {
        expect((await api("/session/spawn", { method: "POST" })).status).toBe(202);
        return waitFor("running", session, (s) => s.state === "running");
      };
      await spawnRunning();
      const sessionId = (await agent.manager.list())[0]?.sessionId ?? "";
      const image = agent.manager.volumes.imagePath(sessionId);
      const volumes = agent.manager.volumes;
      // The node fails to remove the volume once (as an unmount that stays busy), after the container went.
      const destroy = volumes.destroy.bind(volumes);
      volumes.destroy = async () => {
        volumes.destroy = destroy;
        throw new Error("umount: target is busy");
      };
      expect((await api("/session/kill", { method: "POST" })).status).toBe(202);
      expect(dockerInspect(`clawfleet-${sessionId}`)).toBeNull();
      expect(existsSync(image)).toBe(true);
      expect(await agent.manager.leftoverVolumes()).toContain(sessionId);
      await server.reconcile();
      expect(existsSync(image)).toBe(false);
      expect(await agent.manager.leftoverVolumes()).not.toContain(sessionId);

      // A failed session's volume is readable under a key still stored: the reconciler leaves it, and
      // the next spawn finds the user's files where they were.
      await spawnRunning();
      const exec = (script: string) =>
        Bun.spawnSync(["docker", "exec", `clawfleet-${sessionId}`, "sh", "-c", script]).stdout.toString();
      exec("echo kept > /data/kept.txt");
      Bun.spawnSync(["docker", "rm", "-f", `clawfleet-${sessionId}`]);
      // The key leaves the kernel too, so only the server's rule (a stored key) protects the volume.
      await volumes.lock(sessionId);
      await server.reconcile();
      const failed = await session();
      expect(failed.state).toBe("failed");
      expect(failed.failure_reason).toContain("its files are still there");
      expect(await agent.manager.leftoverVolumes()).toContain(sessionId);
      await server.reconcile();
      expect(existsSync(image)).toBe(true);
      await spawnRunning();
      expect(exec("cat /data/kept.txt")).toBe("kept\n");
      expect((await api("/session/kill", { method: "POST" })).status).toBe(202);
      expect(existsSync(image)).toBe(false);
    });
  });
}
