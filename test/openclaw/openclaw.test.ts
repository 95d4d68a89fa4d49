// OpenClaw for real, through the whole platform: `npm run image:openclaw`'s image (built once per
// machine, then cached), spawned through the API on a real agent under its full isolation; its
// WebSocket gateway through the server's /api/v1/session/gateway, its Control UI on the apps origin,
// and one chat turn from the app origin that reaches a fake provider (HTTPS, a test CA) through
// OpenClaw's base-URL settings and the node's provider gateway, with the key fetched from the server
// over the signed channel: the container only ever holds its per-container credential.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import { buildOpenclawImage, OPENCLAW_IMAGE } from "../../scripts/image_openclaw.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { type FakeProvider, startFakeProvider } from "../fakes/provider.ts";
import {
  cleanupNode,
  dockerInspect,
  dockerNetworkSide,
  startTestAgent,
  TEST_CLUSTER_SECRET,
} from "../helpers/fleet.ts";
import { freePort } from "../helpers/process.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { createTestCa, type TestCa } from "../helpers/test_ca.ts";
import { waitFor } from "../helpers/wait.ts";

const root = join(import.meta.dir, "../..");
const CONSOLE_HOST = "console.openclaw.test";
const APPS_DOMAIN = "apps.openclaw.test";
const PASSWORD = "correct horse battery staple";
// An OpenAI-shaped key with a canary the tests look for in every place it must not be.
const OPENAI_KEY = `sk-proj-OPENCLAW-CANARY-${crypto.randomUUID().replaceAll("-", "")}`;

let ca: TestCa;
let provider: FakeProvider;
let server: TestServer;
let agent: RunningAgent;
const agentLogs: string[] = [];
let accessToken = "";
let container = "";
let port = 0;
let token = "";
let appHost = "";
let appCookie = "";

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
  });

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

/** The console's half of the apps handshake, then the app host's: returns the app cookie. */
async function openApp(): Promise<{ host: string; cookie: string }> {
  const open = await fetch(`${server.url}/apps/open?next=/`, {
    headers: { cookie: `cf_access=${accessToken}`, host: `${CONSOLE_HOST}:${new URL(server.url).port}` },
    redirect: "manual",
  });
  expect(open.status).toBe(303);
  const ticket = new URL(open.headers.get("location") ?? "");
  const auth = await fetch(`${server.url}${ticket.pathname}${ticket.search}`, {
    headers: { host: ticket.host },
    redirect: "manual",
  });
  expect(auth.status).toBe(303);
  const cookie = /cf_app=([^;]+)/.exec(auth.headers.get("set-cookie") ?? "")?.[1] ?? "";
  expect(cookie).not.toBe("");
  return { host: ticket.host, cookie };
}

beforeAll(async () => {
  // Cold, this installs ~840 MB from npm into the cache folder; every later run finds the image current.
  await buildOpenclawImage();
  ca = createTestCa();
  provider = startFakeProvider({ tls: { cert: ca.cert, key: ca.key } });
  await provider.acceptKeys([OPENAI_KEY]);
  const serverPort = await freePort();
  server = await startTestServer("pglite", {
    env: {
      PORT: String(serverPort),
      CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
      CLAWFLEET_PUBLIC_URL: `http://${CONSOLE_HOST}:${serverPort}`,
      CLAWFLEET_APPS_DOMAIN: APPS_DOMAIN,
      // The operator lets users pick OpenClaw.
      CLAWFLEET_USER_TEMPLATES: "clawfleet-runtime,openclaw",
    },
  });
  agent = await startTestAgent(
    {
      CLAWFLEET_SERVER_URL: server.url,
      CLAWFLEET_PROVIDER_UPSTREAMS: `openai=${provider.url}`,
      CLAWFLEET_PROVIDER_CA: ca.caFile,
    },
    agentLogs,
  );
  await addNode(server.ctx.database.db, { name: "n1", url: agent.url, fingerprint: agent.fingerprint });
  await server.reconcile();
  const signup = await json(
    await fetch(`${server.url}/api/v1/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "openclaw@example.test", password: PASSWORD }),
    }),
  );
  accessToken = signup.access_token;
  // Ultra's 2 GiB of memory holds OpenClaw; a 512 MiB volume is plenty (volumes are preallocated).
  await server.ctx.database.db.execute(sql`update plans set disk_mb = 512 where id = 'ultra'`);
  await server.ctx.database.db.execute(sql`update users set plan_id = 'ultra' where id = ${signup.user.id}`);
  expect(
    (
      await api("/credentials", {
        method: "POST",
        body: JSON.stringify({ provider: "openai", key: OPENAI_KEY }),
      })
    ).status,
  ).toBe(201);
  const spawn = await api("/session/spawn", {
    method: "POST",
    body: JSON.stringify({ template: "openclaw" }),
  });
  expect(spawn.status).toBe(202);
  const running = await waitFor(
    "OpenClaw running",
    async () => json(await api("/session")),
    (s) => s.state === "running" || s.state === "failed",
    300_000,
    500,
  );
  expect(running).toMatchObject({ state: "running", template: "openclaw" });
  container = dockerInspect(running.container_id)?.Name?.replace(/^\//, "") ?? "";
  port = Number(dockerNetworkSide(container)?.NetworkSettings.Ports["18789/tcp"][0].HostPort);
  token = envOf("OPENCLAW_GATEWAY_TOKEN") ?? "";
  ({ host: appHost, cookie: appCookie } = await openApp());
}, 1_500_000);

afterAll(async () => {
  await server?.close();
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
  await provider?.stop();
  if (ca) rmSync(ca.dir, { recursive: true, force: true });
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

describe("an OpenClaw container spawned through the API", () => {
  test("full isolation: read-only root, uid 1000, no capabilities, state in the data volume, heap below the limit", () => {
    const inspect = dockerInspect(container);
    expect(inspect?.HostConfig.ReadonlyRootfs).toBe(true);
    expect(inspect?.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(inspect?.Config.User).toBe("1000:1000");
    const heap = Number(envOf("NODE_OPTIONS")?.match(/max-old-space-size=(\d+)/)?.[1]);
    expect(heap).toBeGreaterThan(0);
    expect(heap).toBeLessThan(inspect?.HostConfig.Memory / (1024 * 1024));
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

  test("its Control UI on the apps origin, behind the platform's sign-in", async () => {
    const page = await fetch(`${server.url}/`, { headers: { host: appHost, cookie: `cf_app=${appCookie}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>OpenClaw Control");
    // Without the app cookie the page is not served: the browser is sent to sign in.
    const anonymous = await fetch(`${server.url}/`, { headers: { host: appHost }, redirect: "manual" });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("location")).toContain("/apps/open");
  });

  test("its WebSocket gateway through the server's /api/v1/session/gateway: challenge, then hello-ok", async () => {
    const open = () =>
      new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/gateway`, {
        headers: { authorization: `Bearer ${accessToken}` },
      } as never);
    const handshake = (withToken: string) =>
      new Promise<Record<string, any>>((resolve, reject) => {
        const ws = open();
        const timer = setTimeout(() => reject(new Error("no answer to connect")), 30_000);
        ws.onerror = () => reject(new Error("socket failed"));
        ws.onmessage = (e) => {
          const frame = JSON.parse(String(e.data));
          if (frame.event === "connect.challenge") {
            expect(typeof frame.payload.nonce).toBe("string");
            ws.send(JSON.stringify(connect("c1", withToken)));
          }
          if (frame.type === "res" && frame.id === "c1") {
            clearTimeout(timer);
            ws.close();
            resolve(frame);
          }
        };
      });
    const hello = await handshake(token);
    expect(hello.error).toBeUndefined();
    expect(hello.ok).toBe(true);
    expect(hello.payload.type).toBe("hello-ok");
    // The token is what lets it in: a wrong one is refused in OpenClaw's own words.
    const refused = await handshake("0".repeat(64));
    expect(refused.ok).toBe(false);
    expect(refused.error?.details?.code).toBe("AUTH_TOKEN_MISMATCH");
  }, 90_000);

  test("OpenClaw holds only its per-container credential and the gateway's base URL, never the key", () => {
    expect(envOf("OPENAI_API_KEY")).toMatch(/^cfgw_/);
    // OpenRouter's variable too: with it set, OpenClaw still starts (web search is off in its config).
    expect(envOf("OPENROUTER_API_KEY")).toBe(envOf("OPENAI_API_KEY"));
    expect(envOf("OPENROUTER_BASE_URL")).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:\d+\/openrouter\/api\/v1$/);
    expect(envOf("OPENAI_BASE_URL")).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:\d+\/openai\/v1$/);
    expect(JSON.stringify(dockerInspect(container))).not.toContain(OPENAI_KEY);
  });

  test("a chat turn from the app origin reaches the fake provider with the user's key, and is metered", async () => {
    await provider.clearRequests();
    // OpenClaw wraps the user's words in context of its own: every request gets the scripted reply.
    await provider.script([
      { reply: { kind: "text", chunks: ["pong ", "from the fake"], usage: { input: 21, output: 2 } } },
    ]);
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        host: appHost,
        origin: `http://${appHost}`,
        cookie: `cf_app=${appCookie}`,
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "openclaw",
        messages: [{ role: "user", content: "ping from clawfleet" }],
      }),
      signal: AbortSignal.timeout(300_000),
    });
    const text = await response.text();
    expect({ status: response.status, text: text.slice(0, 300) }).toMatchObject({ status: 200 });
    const body = JSON.parse(text) as { choices?: { message?: { content?: string } }[] };
    expect(body.choices?.[0]?.message?.content).toContain("pong from the fake");
    const requests = (await provider.requests()).filter((r) => r.api === "openai");
    const turn = requests.find((r) => JSON.stringify(r.body).includes("ping from clawfleet"));
    expect(turn?.path).toBe("/v1/chat/completions");
    expect(turn?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    // The node's gateway read the token counts from the reply and reported them to the server.
    const tokens = await waitFor(
      "usage reported",
      async () => (await json(await api("/usage"))).tokens,
      (t) => t?.today?.input_tokens > 0,
      30_000,
      500,
    );
    expect(tokens.today.input_tokens).toBeGreaterThanOrEqual(21);
  }, 320_000);

  test("the key reaches neither labels, nor the container's logs, nor the agent's or the server's", () => {
    const inspect = dockerInspect(container);
    expect(JSON.stringify(inspect?.Config.Labels)).not.toContain(OPENAI_KEY);
    expect(docker(["logs", container]).out).not.toContain(OPENAI_KEY);
    expect(agentLogs.join("\n")).not.toContain(OPENAI_KEY);
    expect(server.logs.join("\n")).not.toContain(OPENAI_KEY);
  });
});
