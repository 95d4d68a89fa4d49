// Schedules fire while frozen, against real parts (server, agent on the Docker engine, this checkout's
// runtime image): a schedule is set, the container is frozen, the node reports the runtime's next
// wake time with the freeze, the reconciler restores the container at that time, and the schedule
// runs (its turn is in the container's history). And no freeze while the assistant works: the node
// asks the runtime first and refuses with 409 busy, so the idle freeze waits until the work is done.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import { asSystem } from "../../src/db/rls.ts";
import { agentSessions } from "../../src/db/schema.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import type { FakeProvider } from "../fakes/provider.ts";
import { apiClient } from "../helpers/accounts.ts";
import { cleanupNode, dockerInspect, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { createNetns, type Netns, startFakeProviderInNetns } from "../helpers/netns.ts";
import { tempDir } from "../helpers/process.ts";
import { pinnedRuntimeImage } from "../helpers/runtime_image.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { createTestCa, type TestCa } from "../helpers/test_ca.ts";
import { GatewayClient } from "../runtime/gateway_client.ts";

let server: TestServer;
let agent: RunningAgent;
let templatesDir = "";
let netns: Netns;
let ca: TestCa;
let provider: FakeProvider;
const api = apiClient(() => server);

async function session(token: string): Promise<Record<string, any>> {
  return json(await api.call("GET", "/session", undefined, token));
}

async function gateway(token: string): Promise<GatewayClient> {
  const client = await GatewayClient.connect(
    `${server.url.replace("http", "ws")}/api/v1/session/gateway`,
    token,
    30_000,
  );
  await client.next((f) => f.type === "hello", 30_000);
  return client;
}

beforeAll(async () => {
  const image = await pinnedRuntimeImage();
  const runtime = BUILTIN_TEMPLATES.find((t) => t.name === "clawfleet-runtime");
  templatesDir = tempDir("cf-wake-templates");
  const templates = join(templatesDir, "templates.json");
  writeFileSync(templates, JSON.stringify([{ ...runtime, image }]));
  netns = await createNetns();
  ca = createTestCa([netns.address]);
  provider = await startFakeProviderInNetns(netns, 443, {
    certFile: join(ca.dir, "server.pem"),
    keyFile: join(ca.dir, "server.key"),
    caPem: ca.caPem,
  });
  server = await startTestServer("pglite", { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
  agent = await startTestAgent({
    CLAWFLEET_AGENT_TEMPLATES: templates,
    CLAWFLEET_SERVER_URL: server.url,
    CLAWFLEET_PROVIDER_UPSTREAMS: `openai=https://${netns.address}`,
    CLAWFLEET_PROVIDER_CA: ca.caFile,
  });
  await addNode(server.ctx.database.db, {
    name: "node-wake",
    url: agent.url,
    fingerprint: agent.fingerprint,
  });
  await server.reconcile();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  if (templatesDir) rmSync(templatesDir, { recursive: true, force: true });
  await provider?.stop();
  await netns?.stop();
  if (ca) rmSync(ca.dir, { recursive: true, force: true });
});

describe("a schedule fires while the container is frozen", () => {
  test("freeze records the wake time; the reconciler restores the container then and the schedule runs", async () => {
    const user = await api.signup();
    expect((await api.call("POST", "/session/spawn", {}, user.access)).status).toBe(202);
    const deadline = Date.now() + 90_000;
    while ((await session(user.access)).state !== "running" && Date.now() < deadline) await Bun.sleep(250);
    expect((await session(user.access)).state).toBe("running");

    const client = await gateway(user.access);
    const at = Date.now() + 8_000;
    const created = await client.request({
      type: "schedule.create",
      prompt: "wake-test: say good morning",
      at: new Date(at).toISOString(),
    });
    const scheduleId = (created.schedules as { id: string; next_run_at: number }[]).find(
      (s) => s.next_run_at === at,
    )?.id;
    expect(scheduleId).toBeDefined();
    client.close();

    expect((await api.call("POST", "/session/freeze", undefined, user.access)).status).toBe(202);
    const frozen = await session(user.access);
    expect(frozen.state).toBe("frozen");
    expect(dockerInspect(frozen.container_id)?.State.Paused).toBe(true);
    const [row] = await asSystem(server.ctx.database.db, (tx) =>
      tx.select().from(agentSessions).where(eq(agentSessions.userId, user.userId)),
    );
    expect(row?.wakeAt?.getTime()).toBe(at);

    // Before the time, the reconciler leaves it frozen; at the time, it restores it.
    await server.reconcile();
    expect((await session(user.access)).state).toBe("frozen");
    const wakeDeadline = at + 20_000;
    while (Date.now() < wakeDeadline && (await session(user.access)).state !== "running") {
      await server.reconcile();
      await Bun.sleep(500);
    }
    const woken = await session(user.access);
    expect(woken.state).toBe("running");
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    expect(dockerInspect(woken.container_id)?.State.Paused).toBe(false);

    // The schedule ran in the thawed container: its turn is in the history (no key: the reply
    // failed, which the schedule records; the prompt is stored all the same).
    const again = await gateway(user.access);
    const runDeadline = Date.now() + 20_000;
    let schedule:
      | { last_run_at: number | null; last_status: string | null; next_run_at: number | null }
      | undefined;
    while (Date.now() < runDeadline) {
      const listed = await again.request({ type: "schedule.list" });
      schedule = (
        listed.schedules as {
          id: string;
          last_run_at: number | null;
          last_status: string | null;
          next_run_at: number | null;
        }[]
      ).find((s) => s.id === scheduleId);
      if (schedule?.last_status && schedule.last_status !== "running") break;
      await Bun.sleep(250);
    }
    expect(schedule?.last_run_at).toBeGreaterThanOrEqual(at);
    expect(schedule?.next_run_at).toBeNull();
    const history = await again.request({ type: "history.get", conversation_id: `schedule:${scheduleId}` });
    expect((history.messages as { content: string }[])[0]?.content).toBe("wake-test: say good morning");
    again.close();
    const [after] = await asSystem(server.ctx.database.db, (tx) =>
      tx.select().from(agentSessions).where(eq(agentSessions.userId, user.userId)),
    );
    expect(after?.wakeAt).toBeNull();
    await api.call("POST", "/session/kill", undefined, user.access);
  }, 240_000);

  test("while a reply is being written the freeze is refused (409 busy), and goes through once it is done", async () => {
    const user = await api.signup();
    expect(
      (
        await api.call(
          "POST",
          "/credentials",
          { provider: "openai", key: "sk-proj-wake-test-0123456789abcdef" },
          user.access,
        )
      ).status,
    ).toBe(201);
    expect((await api.call("POST", "/session/spawn", {}, user.access)).status).toBe(202);
    const deadline = Date.now() + 90_000;
    while ((await session(user.access)).state !== "running" && Date.now() < deadline) await Bun.sleep(250);
    await provider.script([
      {
        match: "write slowly",
        reply: { kind: "text", chunks: ["one ", "two ", "three ", "four"], delayMs: 1_000 },
      },
    ]);
    const client = await gateway(user.access);
    client.send({ type: "chat", id: "slow1", text: "write slowly" });
    await client.next((f) => f.type === "chat.delta" && f.id === "slow1", 30_000);
    const refused = await api.call("POST", "/session/freeze", undefined, user.access);
    expect(refused.status).toBe(409);
    expect((await json(refused)).error.code).toBe("busy");
    expect((await session(user.access)).state).toBe("running");
    const done = await client.next((f) => f.type === "chat.done" && f.id === "slow1", 30_000);
    expect(done.text).toBe("one two three four");
    client.close();
    await Bun.sleep(200);
    expect((await api.call("POST", "/session/freeze", undefined, user.access)).status).toBe(202);
    expect((await session(user.access)).state).toBe("frozen");
    await api.call("POST", "/session/kill", undefined, user.access);
  }, 240_000);
});
