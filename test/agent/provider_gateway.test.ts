// The provider gateway end to end, on real parts: a server (PGlite), a fleet agent on the Docker
// engine, the clawfleet-runtime image, and a fake AI provider on loopback speaking HTTPS with a
// certificate from a test CA that only the agent is told to trust. The key is stored through the API;
// it must never reach the container (inspect, /proc, files), while chats through the container reach
// the fake with it, streamed; deleting and re-adding it takes effect without a restart; tokens are
// metered as the fake reported them; a credential from another container is refused; the plan's
// token budget is enforced; and neither the key nor the conversation reaches a log or the database.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { sql } from "drizzle-orm";
import { DEFAULT_BLOCKED, installFirewall } from "../../agent/firewall.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
import { asSystem } from "../../src/db/rls.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { type FakeProvider, startFakeProvider } from "../fakes/provider.ts";
import {
  cleanupNode,
  dockerInspect,
  dockerNetworkSide,
  startTestAgent,
  TEST_CLUSTER_SECRET,
} from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { pinnedRuntimeImage } from "../helpers/runtime_image.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { createTestCa, type TestCa } from "../helpers/test_ca.ts";
import { GatewayClient } from "../runtime/gateway_client.ts";

const PASSWORD = "correct horse battery staple";
const KEY = "sk-proj-GATEWAY-CANARY-0123456789abcdefXYZ";
const KEY_B = "sk-proj-OTHER-USER-0123456789abcdefghijkl";
const CHAT_CANARY = "purple-elephant-CONTENT-CANARY";

let ca: TestCa;
let templatesFile = "";
let agentEnv: Record<string, string> = {};
let fake: FakeProvider;
let server: TestServer;
let agent: RunningAgent;
const agentLogs: string[] = [];

type User = { token: string; sessionId: string; container: string; credentialId: string };
let alice: User;
let bob: User;

async function api(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

async function userWithContainer(email: string, key: string, field: "key" | "api_key"): Promise<User> {
  const signup = await fetch(`${server.url}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const token = ((await signup.json()) as { access_token: string }).access_token;
  const added = await api(token, "POST", "/credentials", { provider: "openai", [field]: key });
  expect(added.status).toBe(201);
  expect((await api(token, "POST", "/session/spawn")).status).toBe(202);
  const deadline = Date.now() + 90_000;
  let state = "";
  while (Date.now() < deadline && state !== "running") {
    state = (await api(token, "GET", "/session")).body.state;
    if (state === "failed") throw new Error("spawn failed");
    await Bun.sleep(250);
  }
  expect(state).toBe("running");
  const [row] = await asSystem(server.ctx.database.db, (tx) =>
    tx.execute(
      sql`select s.id from agent_sessions s join users u on u.id = s.user_id where u.email = ${email}`,
    ),
  ).then((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as { id: string }[]);
  const sessionId = row?.id ?? "";
  return { token, sessionId, container: `clawfleet-${sessionId}`, credentialId: added.body.credential.id };
}

async function chatClient(sessionId: string) {
  const port = Number(
    dockerNetworkSide(`clawfleet-${sessionId}`)?.NetworkSettings.Ports["8080/tcp"][0].HostPort,
  );
  return GatewayClient.connect(`ws://127.0.0.1:${port}/gateway`, await agent.manager.gatewayToken(sessionId));
}

function execIn(container: string, script: string): string {
  const proc = Bun.spawnSync(["docker", "exec", container, "/bin/sh", "-c", script]);
  return proc.stdout.toString() + proc.stderr.toString();
}

/**
 * An HTTP request from the container's own network namespace (the host's curl entered into it, so the
 * packets leave from the container's address on its bridge, exactly as its processes' would).
 */
async function httpFromInside(container: string, url: string, credential: string, body: string) {
  const pid = String(dockerInspect(container)?.State.Pid);
  // Not spawnSync: the agent serving the request runs in this very process.
  const proc = Bun.spawn(
    [
      "nsenter",
      "-t",
      pid,
      "-n",
      "curl",
      "-sS",
      "-i",
      "--max-time",
      "5",
      "-H",
      `authorization: Bearer ${credential}`,
    ].concat(["-H", "content-type: application/json", "--data-binary", body, url]),
    { stdout: "pipe", stderr: "pipe" },
  );
  return (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
}

/** The check's first truthy answer, asked every 200 ms for at most 30 s (null past that). */
async function eventually<T>(check: () => Promise<T | null | undefined | false>): Promise<T | null> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await Bun.sleep(200);
  }
  return null;
}

const envOf = (container: string, name: string) => execIn(container, `printf %s "$${name}"`);

beforeAll(async () => {
  const image = await pinnedRuntimeImage();
  const runtime = BUILTIN_TEMPLATES.find((t) => t.name === "clawfleet-runtime");
  templatesFile = join(tempDir("cf-gw-templates"), "templates.json");
  writeFileSync(templatesFile, JSON.stringify([{ ...runtime, image }]));
  ca = createTestCa();
  fake = startFakeProvider({ tls: { cert: ca.cert, key: ca.key } });
  await fake.acceptKeys([KEY, KEY_B]);
  server = await startTestServer("pglite", { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
  const upstreams = ["anthropic", "openai", "google", "openrouter"].map((p) => `${p}=${fake.url}`).join(",");
  agentEnv = {
    CLAWFLEET_SERVER_URL: server.url,
    CLAWFLEET_PROVIDER_UPSTREAMS: upstreams,
    CLAWFLEET_PROVIDER_CA: ca.caFile,
    CLAWFLEET_AGENT_TEMPLATES: templatesFile,
  };
  agent = await startTestAgent(agentEnv, agentLogs);
  await addNode(server.ctx.database.db, { name: "node-gw", url: agent.url, fingerprint: agent.fingerprint });
  await server.reconcile();
  [alice, bob] = await Promise.all([
    userWithContainer("alice-gw@example.test", KEY, "key"),
    userWithContainer("bob-gw@example.test", KEY_B, "api_key"),
  ]);
}, 240_000);

// The iptables chains are shared by every agent on this host, and agents built from other checkouts
// (without the gateway port) may replace them at any time: put this tree's rules back before each test.
beforeEach(() => installFirewall(DEFAULT_BLOCKED));

afterAll(async () => {
  await server?.close();
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  await fake?.stop();
  if (ca) rmSync(ca.dir, { recursive: true, force: true });
  if (templatesFile) rmSync(dirname(templatesFile), { recursive: true, force: true });
});

describe("provider gateway on a real engine", () => {
  test("the key is nowhere in the container: inspect, every process's environment, its files", () => {
    const inspect = JSON.stringify(dockerInspect(alice.container));
    expect(inspect).not.toContain(KEY);
    expect(inspect).toContain("OPENAI_BASE_URL=http://");
    // The key variable holds the per-container credential instead.
    expect(envOf(alice.container, "OPENAI_API_KEY")).toMatch(/^cfgw_[0-9a-f]{64}$/);
    const environ = execIn(
      alice.container,
      "cat /proc/1/environ; for p in /proc/[0-9]*; do cat $p/environ; done",
    );
    expect(environ).toContain("OPENAI_API_KEY=cfgw_");
    expect(environ).not.toContain("GATEWAY-CANARY");
    const files = execIn(
      alice.container,
      "grep -rl GATEWAY-CANARY /data /tmp /etc /home 2>/dev/null; echo scanned",
    );
    expect(files.trim()).toBe("scanned");
    // Nor on the node: the agent's data dir and its logs.
    const grep = Bun.spawnSync(["grep", "-rl", "GATEWAY-CANARY", agent.dataDir]);
    expect(grep.stdout.toString()).toBe("");
  });

  test("a chat through the container reaches the fake over HTTPS with the real key, streamed", async () => {
    await fake.clearRequests();
    await fake.script([
      {
        match: "stream",
        reply: {
          kind: "text",
          chunks: ["one ", "two ", "three ", "four"],
          delayMs: 400,
          usage: { input: 123, output: 45 },
        },
      },
    ]);
    const client = await chatClient(alice.sessionId);
    const started = performance.now();
    let firstDelta = 0;
    client.send({ type: "chat", id: "c1", text: `please stream ${CHAT_CANARY}`, provider: "openai" });
    const frames: Record<string, unknown>[] = [];
    while (true) {
      const frame = await client.next(() => true, 20_000);
      if (frame.type === "chat.delta" && !firstDelta) firstDelta = performance.now() - started;
      frames.push(frame);
      if (frame.type === "chat.done" || frame.type === "chat.error" || frame.type === "error") break;
    }
    const total = performance.now() - started;
    expect(frames.at(-1)?.type).toBe("chat.done");
    expect(frames.filter((f) => f.type === "chat.delta").map((f) => f.text)).toEqual([
      "one ",
      "two ",
      "three ",
      "four",
    ]);
    // The first token arrives while the fake is still sending (4 chunks, 400 ms apart).
    expect(firstDelta).toBeLessThan(total - 800);
    const [request] = await fake.requests();
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(JSON.stringify(request?.headers)).not.toContain("cfgw_");
    expect((request?.body as { stream_options?: unknown } | undefined)?.stream_options).toEqual({
      include_usage: true,
    });
  });

  test("usage matches the tokens the fake reported, per provider and model", async () => {
    let tokens: Record<string, any> = {};
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      tokens = (await api(alice.token, "GET", "/usage")).body.tokens;
      if (tokens?.today?.input_tokens > 0) break;
      await Bun.sleep(200);
    }
    expect(tokens.today).toMatchObject({ input_tokens: 123, output_tokens: 45, requests: 1 });
    expect(tokens.month.by_model).toEqual([
      { provider: "openai", model: "gpt-4o-mini", input_tokens: 123, output_tokens: 45, requests: 1 },
    ]);
    const history = await api(alice.token, "GET", "/usage/history?days=7");
    expect(history.body.days).toHaveLength(7);
    expect(history.body.days.at(-1)).toMatchObject({ input_tokens: 123, output_tokens: 45 });
    expect((await api(alice.token, "GET", "/usage/history?days=0")).status).toBe(400);
    expect((await api(alice.token, "GET", "/usage/history?days=abc")).status).toBe(400);
    // Bob's usage is his own (none yet).
    expect((await api(bob.token, "GET", "/usage")).body.tokens.today.input_tokens).toBe(0);
  });

  test("delete the key: the running container fails clearly within 5 s; re-add: it works, no restart", async () => {
    const dockerId = dockerInspect(alice.container)?.Id;
    const client = await chatClient(alice.sessionId);
    // A chat just before: the gateway's cache holds the key fresh, the worst case for a deletion.
    expect((await client.chat({ text: "hello before delete", provider: "openai" })).done).not.toBeNull();
    expect((await api(alice.token, "DELETE", `/credentials/${alice.credentialId}`)).status).toBe(204);
    const deleted = performance.now();
    let error: Record<string, any> | null = null;
    while (performance.now() - deleted < 8000) {
      const outcome = await client.chat({ text: "hello after delete", provider: "openai" });
      if (outcome.error) {
        error = outcome.error;
        break;
      }
      await Bun.sleep(100);
    }
    const took = performance.now() - deleted;
    console.log(`key deleted → first failing chat: ${Math.round(took)} ms`);
    expect(took).toBeLessThan(5000);
    expect(JSON.stringify(error)).toContain("No OpenAI key is stored");
    const readded = await api(alice.token, "POST", "/credentials", { provider: "openai", api_key: KEY });
    expect(readded.status).toBe(201);
    alice.credentialId = readded.body.credential.id;
    let ok = false;
    const again = performance.now();
    while (!ok && performance.now() - again < 8000) {
      ok = (await client.chat({ text: "hello again", provider: "openai" })).done !== null;
      if (!ok) await Bun.sleep(100);
    }
    expect(ok).toBe(true);
    expect(dockerInspect(alice.container)?.Id).toBe(dockerId);
  });

  test("a credential from another container is refused; another container's gateway is unreachable", async () => {
    const body = JSON.stringify({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const ownBase = envOf(alice.container, "OPENAI_BASE_URL");
    const otherBase = envOf(bob.container, "OPENAI_BASE_URL");
    const own = envOf(alice.container, "OPENAI_API_KEY");
    const stolen = envOf(bob.container, "OPENAI_API_KEY");
    expect(stolen).not.toBe(own);
    // Control: its own credential is served (so the refusals below are the gateway's doing).
    expect(await httpFromInside(alice.container, `${ownBase}/chat/completions`, own, body)).toContain(
      "HTTP/1.1 200",
    );
    const replayed = await httpFromInside(alice.container, `${ownBase}/chat/completions`, stolen, body);
    expect(replayed).toContain("HTTP/1.1 401");
    expect(replayed).toContain("invalid_credential");
    // Bob's gateway address is closed to Alice's container by the firewall: no answer at all.
    const crossed = await httpFromInside(alice.container, `${otherBase}/chat/completions`, stolen, body);
    expect(crossed).not.toContain("HTTP/1.1");
  });

  test("past the plan's monthly token budget the gateway answers 429 with a clear message", async () => {
    const db = server.ctx.database.db;
    await asSystem(db, (tx) =>
      tx.execute(sql`update plans set monthly_token_budget = 100 where id = 'free'`),
    );
    try {
      const client = await chatClient(alice.sessionId);
      let error: Record<string, any> | null = null;
      const deadline = Date.now() + 8000;
      while (!error && Date.now() < deadline) {
        error = (await client.chat({ text: "over budget?", provider: "openai" })).error;
        if (!error) await Bun.sleep(200);
      }
      expect(JSON.stringify(error)).toContain("monthly token budget");
      const usage = (await api(alice.token, "GET", "/usage")).body.tokens;
      expect(usage.monthly_budget).toBe(100);
      expect(usage.budget_remaining).toBe(0);
    } finally {
      await asSystem(db, (tx) =>
        tx.execute(sql`update plans set monthly_token_budget = null where id = 'free'`),
      );
    }
  });

  test("a stopped container comes back with a new credential and its files; one that keeps stopping fails", async () => {
    const body = JSON.stringify({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const old = envOf(bob.container, "OPENAI_API_KEY");
    const oldSalt = dockerInspect(bob.container)?.Config.Labels["clawfleet.gateway-salt"];
    execIn(bob.container, "echo kept-across-restart > /data/restart-marker.txt");
    // What a node reboot leaves: the container stopped, the session still "running".
    expect(Bun.spawnSync(["docker", "stop", "-t", "1", bob.container]).exitCode).toBe(0);
    await server.reconcile();
    // The server's own reconcile loop may be the one doing it: wait for the recreated container.
    const recreated = async () => {
      const now = dockerInspect(bob.container);
      return now?.State.Running && now.Config.Labels["clawfleet.gateway-salt"] !== oldSalt ? now : null;
    };
    const after = await eventually(recreated);
    expect(after?.State.Running).toBe(true);
    expect(after?.Config.Labels["clawfleet.gateway-salt"]).not.toBe(oldSalt);
    const fresh = envOf(bob.container, "OPENAI_API_KEY");
    expect(fresh).toStartWith("cfgw_");
    expect(fresh).not.toBe(old);
    expect(execIn(bob.container, "cat /data/restart-marker.txt")).toContain("kept-across-restart");
    const base = envOf(bob.container, "OPENAI_BASE_URL");
    const refused = await httpFromInside(bob.container, `${base}/chat/completions`, old, body);
    expect(refused).toContain("HTTP/1.1 401");
    expect(await httpFromInside(bob.container, `${base}/chat/completions`, fresh, body)).toContain(
      "HTTP/1.1 200",
    );
    expect((await api(bob.token, "GET", "/session")).body.state).toBe("running");
    // Stopped again right away: no restart loop, a reason the user can act on.
    expect(Bun.spawnSync(["docker", "stop", "-t", "1", bob.container]).exitCode).toBe(0);
    await server.reconcile();
    const session = await eventually(async () => {
      const now = (await api(bob.token, "GET", "/session")).body;
      return now.state === "failed" ? now : null;
    });
    expect(session?.state).toBe("failed");
    expect(JSON.stringify(session)).toContain("kept stopping");
    expect(dockerInspect(bob.container)?.State.Running).toBe(false);
  });

  test("a restarted agent reopens the gateway of running containers: their credential still works", async () => {
    const { dataDir, nodeId } = agent;
    await agent.stop();
    agent = await startTestAgent(
      { ...agentEnv, CLAWFLEET_AGENT_DATA_DIR: dataDir, CLAWFLEET_NODE_ID: nodeId },
      agentLogs,
    );
    const client = await chatClient(alice.sessionId);
    const outcome = await client.chat({ text: "after an agent restart", provider: "openai" });
    expect(outcome.error).toBeNull();
    expect(outcome.done).not.toBeNull();
  });

  test("neither keys nor conversation content reach the logs or the database", async () => {
    const logs = [...agentLogs, ...server.logs].join("\n");
    for (const secret of [KEY, KEY_B, CHAT_CANARY, "GATEWAY-CANARY"]) expect(logs).not.toContain(secret);
    const dump = await asSystem(server.ctx.database.db, (tx) =>
      tx.execute(sql`select (select coalesce(json_agg(t), '[]') from token_usage t)::text ||
        (select coalesce(json_agg(a), '[]') from audit_log a)::text ||
        (select coalesce(json_agg(s), '[]') from agent_sessions s)::text as all`),
    );
    const text = JSON.stringify(dump);
    expect(text).toContain("gpt-4o-mini");
    for (const secret of [KEY, KEY_B, CHAT_CANARY]) expect(text).not.toContain(secret);
  });
});
