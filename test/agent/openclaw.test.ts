// OpenClaw for real: `npm run image:openclaw`'s image (built once per machine, then cached), spawned
// through the agent as the built-in `openclaw` template under the agent's full isolation; its Control
// UI fetched through the container's published port, its WebSocket gateway through the agent's
// gateway relay, and one chat turn that reaches a fake provider (HTTPS, a test CA) through OpenClaw's
// base-URL settings and the node's provider gateway: the container only ever holds its per-container
// credential, and the key comes from a stand-in for the server's signed key channel.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { AgentClient } from "../../agent/api/client.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import { parseKeyring } from "../../common/keyring.ts";
import { buildOpenclawImage, OPENCLAW_IMAGE } from "../../scripts/image_openclaw.ts";
import { type FakeProvider, startFakeProvider } from "../fakes/provider.ts";
import {
  cleanupNode,
  dockerInspect,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { createTestCa } from "../helpers/test_ca.ts";

const root = join(import.meta.dir, "../..");
const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
const limits = { cpuMillis: 2000, memoryMb: 1536, pidsLimit: 512, diskMb: 2048 };
// A shape the log redactor does not know: only the platform's own care keeps it out of logs and labels.
const OPENAI_KEY = `oai-${crypto.randomUUID()}`;
const sessionId = crypto.randomUUID();
const container = `clawfleet-${sessionId}`;

let provider: FakeProvider;
let keyChannel: ReturnType<typeof Bun.serve> | null = null;
let keyFetches = 0;
let agent: RunningAgent;
let client: AgentClient;
let port = 0;
let token = "";

const envOf = (name: string): string | undefined =>
  ((dockerInspect(container)?.Config.Env ?? []) as string[])
    .find((e) => e.startsWith(`${name}=`))
    ?.slice(name.length + 1);

/** OpenClaw's first request on its WebSocket: a shared-token operator without a device identity. */
const connect = (id: string, withToken: string) => ({
  type: "req",
  id,
  method: "connect",
  params: {
    minProtocol: 1,
    maxProtocol: 99,
    client: { id: "cli", version: "1.0.0", platform: "linux", mode: "cli" },
    role: "operator",
    scopes: ["operator.read"],
    auth: { token: withToken },
  },
});

function docker(args: string[]): { code: number; out: string } {
  const proc = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode ?? -1, out: proc.stdout.toString() + proc.stderr.toString() };
}

beforeAll(async () => {
  // Cold, this installs ~840 MB from npm into the cache folder; every later run finds the image current.
  await buildOpenclawImage();
  const ca = createTestCa();
  provider = startFakeProvider({ tls: { cert: ca.cert, key: ca.key } });
  await provider.acceptKeys([OPENAI_KEY]);
  // The server's key channel (GET …/provider-keys), as the agent's provider gateway calls it.
  keyChannel = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === `/agent/v1/sessions/${sessionId}/provider-keys`) {
        keyFetches++;
        return Response.json({
          keys: { openai: OPENAI_KEY },
          budget: { monthlyTokens: null, usedThisMonth: 0 },
        });
      }
      if (path === "/agent/v1/usage") return new Response(null, { status: 204 });
      return new Response("not found", { status: 404 });
    },
  });
  agent = await startTestAgent({
    CLAWFLEET_SERVER_URL: `http://127.0.0.1:${keyChannel.port}`,
    CLAWFLEET_PROVIDER_UPSTREAMS: `openai=${provider.url}`,
    CLAWFLEET_PROVIDER_CA: ca.caFile,
  });
  client = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
  const spawned = await client.spawn({ sessionId, template: "openclaw", limits, volume: volumeKey() });
  expect(spawned.ready).toBe(true);
  const inspect = dockerInspect(container);
  port = Number(inspect?.NetworkSettings.Ports["18789/tcp"][0].HostPort);
  token = envOf("OPENCLAW_GATEWAY_TOKEN") ?? "";
}, 1_500_000);

afterAll(async () => {
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
  keyChannel?.stop(true);
  await provider?.stop();
});

describe("the OpenClaw image", () => {
  test("`npm run image:openclaw` is quick when nothing changed: the content-hash label matches", () => {
    const started = Date.now();
    const proc = Bun.spawnSync([process.execPath, "scripts/image_openclaw.ts"], { cwd: root });
    expect(proc.stdout.toString()).toContain(`${OPENCLAW_IMAGE} is up to date`);
    expect(proc.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 60_000);

  test("the preset runs it by default", () => {
    expect(BUILTIN_TEMPLATES.find((t) => t.name === "openclaw")?.image).toBe(OPENCLAW_IMAGE);
    expect(dockerInspect(container)?.Config.Image).toBe(OPENCLAW_IMAGE);
  });
});

describe("an OpenClaw container spawned through the agent", () => {
  test("full isolation: read-only root, uid 1000, no capabilities, state in the data volume, heap below the limit", () => {
    const inspect = dockerInspect(container);
    expect(inspect?.HostConfig.ReadonlyRootfs).toBe(true);
    expect(inspect?.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(inspect?.Config.User).toBe("1000:1000");
    const heap = Number(envOf("NODE_OPTIONS")?.match(/max-old-space-size=(\d+)/)?.[1]);
    expect(heap).toBeGreaterThan(0);
    expect(heap).toBeLessThan(limits.memoryMb);
    const shell = docker([
      "exec",
      container,
      "/bin/sh",
      "-c",
      "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; touch /probe 2>&1; touch /opt/openclaw/probe 2>&1; ls -a /data/.openclaw",
    ]).out;
    expect(shell).toStartWith("1000\n");
    expect(shell).toMatch(/CapEff:\s+0000000000000000/);
    expect(shell).toMatch(/NoNewPrivs:\s+1/);
    expect(shell.match(/Read-only file system/g)?.length).toBe(2);
    // OpenClaw's state database went to the volume.
    expect(shell).toContain("state");
  });

  test("a gateway token per container: the agent's token opens it, another is refused", async () => {
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const ok = await fetch(`http://127.0.0.1:${port}/v1/models`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    const refused = await fetch(`http://127.0.0.1:${port}/v1/models`, {
      headers: { authorization: `Bearer ${"0".repeat(64)}` },
    });
    expect(refused.status).toBe(401);
  });

  test("its Control UI page answers through the container's published port", async () => {
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>OpenClaw Control");
  });

  test("its WebSocket gateway through the agent's relay: challenge, then hello-ok with the token", async () => {
    const ws = await client.connect(sessionId, "gateway");
    const frames: Record<string, any>[] = [];
    ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const next = async (match: (f: Record<string, any>) => boolean) => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const found = frames.find(match);
        if (found) return found;
        await Bun.sleep(50);
      }
      throw new Error(`no such frame; got ${JSON.stringify(frames).slice(0, 500)}`);
    };
    const challenge = await next((f) => f.type === "event" && f.event === "connect.challenge");
    expect(typeof challenge.payload.nonce).toBe("string");
    ws.send(JSON.stringify(connect("c1", token)));
    const hello = await next((f) => f.type === "res" && f.id === "c1");
    expect(hello.error).toBeUndefined();
    expect(hello.ok).toBe(true);
    expect(hello.payload.type).toBe("hello-ok");
    ws.close();
    // The token is what lets it in: a wrong one is refused in OpenClaw's own words.
    const wrong = await client.connect(sessionId, "gateway");
    const wrongFrames: Record<string, any>[] = [];
    wrong.onmessage = (e) => {
      const frame = JSON.parse(String(e.data));
      wrongFrames.push(frame);
      if (frame.event === "connect.challenge") wrong.send(JSON.stringify(connect("c2", "0".repeat(64))));
    };
    const deadline = Date.now() + 30_000;
    while (!wrongFrames.some((f) => f.id === "c2") && Date.now() < deadline) await Bun.sleep(50);
    const refused = wrongFrames.find((f) => f.id === "c2");
    expect(refused?.ok).toBe(false);
    expect(refused?.error?.details?.code).toBe("AUTH_TOKEN_MISMATCH");
    wrong.close();
  }, 60_000);

  test("OpenClaw holds only its per-container credential and the gateway's base URL, never the key", () => {
    expect(envOf("OPENAI_API_KEY")).toMatch(/^cfgw_/);
    expect(envOf("OPENAI_BASE_URL")).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:\d+\/openai\/v1$/);
    expect(JSON.stringify(dockerInspect(container))).not.toContain(OPENAI_KEY);
  });

  test("one chat turn reaches the fake provider through OpenClaw's base URL and the node's gateway, with the key as bearer", async () => {
    await provider.clearRequests();
    // OpenClaw wraps the user's words in context of its own: every request gets the scripted reply.
    await provider.script([{ reply: { kind: "text", chunks: ["pong ", "from the fake"] } }]);
    const response = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "openclaw",
        messages: [{ role: "user", content: "ping from clawfleet" }],
      }),
      signal: AbortSignal.timeout(300_000),
    });
    const body = (await response.json()) as { choices?: { message?: { content?: string } }[] };
    expect(response.status).toBe(200);
    expect(body.choices?.[0]?.message?.content).toContain("pong from the fake");
    const requests = (await provider.requests()).filter((r) => r.api === "openai");
    expect(requests.length).toBeGreaterThan(0);
    const turn = requests.find((r) => JSON.stringify(r.body).includes("ping from clawfleet"));
    expect(turn?.path).toBe("/v1/chat/completions");
    expect(turn?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(keyFetches).toBeGreaterThan(0);
  }, 320_000);

  test("the key reaches neither labels nor logs", () => {
    const inspect = dockerInspect(container);
    expect(JSON.stringify(inspect?.Config.Labels)).not.toContain(OPENAI_KEY);
    expect(docker(["logs", container]).out).not.toContain(OPENAI_KEY);
  });
});
