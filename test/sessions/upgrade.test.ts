// POST /api/v1/session/upgrade against real parts (server, agent on the Docker engine, this checkout's
// runtime image): a newer image appears under the template's tag, the upgrade recreates the container
// from it with the same encrypted volume, and the conversation and memory written before are still
// there; a frozen container upgrades too, and bad states are refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { apiClient } from "../helpers/accounts.ts";
import { cleanupNode, dockerInspect, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { pinnedRuntimeImage } from "../helpers/runtime_image.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { GatewayClient } from "../runtime/gateway_client.ts";

const TAG = `cf-upgrade-test:${crypto.randomUUID().slice(0, 8)}`;
let server: TestServer;
let agent: RunningAgent;
let templatesDir = "";
const api = apiClient(() => server);

function docker(args: string[], stdin?: string): string {
  const proc = Bun.spawnSync(["docker", ...args], {
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (proc.exitCode !== 0) throw new Error(`docker ${args[0]}: ${proc.stderr.toString().trim()}`);
  return proc.stdout.toString().trim();
}

async function waitState(token: string, state: string, timeoutMs = 90_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const view = await json(await api.call("GET", "/session", undefined, token));
    if (view.state === state) return view;
    if (Date.now() > deadline)
      throw new Error(`session is ${view.state} (${view.failure_reason}), not ${state}`);
    await Bun.sleep(250);
  }
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
  docker(["tag", image, TAG]);
  const runtime = BUILTIN_TEMPLATES.find((t) => t.name === "clawfleet-runtime");
  templatesDir = tempDir("cf-upgrade-templates");
  const templates = join(templatesDir, "templates.json");
  writeFileSync(templates, JSON.stringify([{ ...runtime, image: TAG }]));
  server = await startTestServer("pglite", { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
  agent = await startTestAgent({ CLAWFLEET_AGENT_TEMPLATES: templates, CLAWFLEET_SERVER_URL: server.url });
  await addNode(server.ctx.database.db, {
    name: "node-upgrade",
    url: agent.url,
    fingerprint: agent.fingerprint,
  });
  await server.reconcile();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  Bun.spawnSync(["docker", "rmi", "-f", TAG]);
  if (templatesDir) rmSync(templatesDir, { recursive: true, force: true });
});

describe("upgrade keeping data", () => {
  test("the container moves to the newest image of its template; history and memory survive", async () => {
    const user = await api.signup();
    expect((await api.call("POST", "/session/upgrade", undefined, user.access)).status).toBe(409);
    expect((await api.call("POST", "/session/spawn", {}, user.access)).status).toBe(202);
    const before = await waitState(user.access, "running");
    const oldImage = dockerInspect(before.container_id)?.Image as string;
    const available = async () =>
      (await json(await api.call("GET", "/session/upgrade", undefined, user.access))).available;
    expect(await available()).toBe(false);

    const client = await gateway(user.access);
    const note = `remember the upgrade ${crypto.randomUUID()}`;
    expect((await client.request({ type: "memory.set", content: note })).content).toBe(note);
    // No key: the reply fails, but the user's message is kept in the conversation.
    await client.chat({ text: "this message must survive", conversation_id: "upgrade-history" }, 30_000);
    client.close();

    // A newer image appears under the template's tag.
    docker(["build", "-q", "-t", TAG, "-"], `FROM ${TAG}\nLABEL clawfleet.test-upgrade="${Date.now()}"\n`);
    const newImage = docker(["image", "inspect", "-f", "{{.Id}}", TAG]);
    expect(newImage).not.toBe(oldImage);
    // The console offers the upgrade now: the node sees the tag names another image.
    expect(await available()).toBe(true);

    const upgraded = await api.call("POST", "/session/upgrade", undefined, user.access);
    expect(upgraded.status).toBe(202);
    const after = await json(upgraded);
    expect(after.state).toBe("running");
    expect(after.container_id).not.toBe(before.container_id);
    expect(dockerInspect(after.container_id)?.Image).toBe(newImage);
    expect(dockerInspect(before.container_id)).toBeNull();
    expect(await available()).toBe(false);

    const again = await gateway(user.access);
    expect((await again.request({ type: "memory.get" })).content).toBe(note);
    const history = await again.request({ type: "history.get", conversation_id: "upgrade-history" });
    expect((history.messages as { content: string }[]).map((m) => m.content)).toContain(
      "this message must survive",
    );
    again.close();

    // A frozen container is upgraded too, and comes back running with its data.
    expect((await api.call("POST", "/session/freeze", undefined, user.access)).status).toBe(202);
    await waitState(user.access, "frozen");
    const thawed = await json(await api.call("POST", "/session/upgrade", undefined, user.access));
    expect(thawed.state).toBe("running");
    expect(dockerInspect(thawed.container_id)?.State.Running).toBe(true);
    const third = await gateway(user.access);
    expect((await third.request({ type: "memory.get" })).content).toBe(note);
    third.close();

    await api.call("POST", "/session/kill", undefined, user.access);
    expect(await available()).toBe(false);
    expect((await api.call("POST", "/session/upgrade", undefined, user.access)).status).toBe(409);
  }, 240_000);
});
