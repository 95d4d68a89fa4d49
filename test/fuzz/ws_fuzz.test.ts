// Hostile WebSocket traffic through the session gateway and terminal (browser side → server → agent →
// container) and straight at the agent: garbage text, binary noise, oversized frames, bad control
// messages, abrupt disconnects. The server, the agent and the container must all keep serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AgentClient } from "../../agent/api/client.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { parseKeyring } from "../../common/keyring.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { cleanupNode, ensureRuntimeImage, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

const FRAMES = Number(process.env.FUZZ_WS_FRAMES ?? 400);

function junkFrame(i: number): string | Uint8Array<ArrayBuffer> {
  switch (i % 8) {
    case 0:
      return crypto.getRandomValues(new Uint8Array(1 + (i % 4096)));
    case 1:
      return "{".repeat(1 + (i % 300));
    case 2:
      return JSON.stringify({ type: "chat", text: "x".repeat(i * 7), provider: { $ne: 1 } });
    case 3:
      return JSON.stringify({ type: "resize", cols: -1e9, rows: "NaN" });
    case 4:
      return JSON.stringify({ type: "__proto__", id: "../../x", conversation_id: null });
    case 5:
      return "\u0000\ud800\uffff".toWellFormed();
    case 6:
      return JSON.stringify([1, [2, [3, [4]]]]);
    default:
      return JSON.stringify({ type: "ping", id: `p${i}` });
  }
}

async function hammer(open: () => Promise<WebSocket> | WebSocket, frames: number) {
  const ws = await open();
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const closed = new Promise<number>((resolve) => {
    ws.onclose = (e) => resolve(e.code);
  });
  for (let i = 0; i < frames && ws.readyState === WebSocket.OPEN; i++) ws.send(junkFrame(i));
  // An oversized frame (over the 4 MiB limit) must be refused by closing, not by crashing.
  if (ws.readyState === WebSocket.OPEN) ws.send(new Uint8Array(5 * 1024 * 1024));
  const code = await Promise.race([closed, Bun.sleep(5000).then(() => -1)]);
  if (ws.readyState === WebSocket.OPEN) ws.close();
  return code;
}

describe("WebSocket fuzzing", () => {
  let server: TestServer;
  let agent: RunningAgent;
  let token = "";
  beforeAll(async () => {
    await ensureRuntimeImage();
    agent = await startTestAgent();
    server = await startTestServer("pglite", { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
    await addNode(server.ctx.database.db, { name: "n", url: agent.url, fingerprint: agent.fingerprint });
    const signup = await json(
      await fetch(`${server.url}/api/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "wsfuzz@example.test", password: "correct horse battery staple" }),
      }),
    );
    token = signup.access_token;
    await fetch(`${server.url}/api/v1/session/spawn`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    await waitFor(
      "running",
      async () =>
        (
          await json(
            await fetch(`${server.url}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } }),
          )
        ).state,
      (s) => s === "running",
    );
  });
  afterAll(async () => {
    await server.close();
    await agent.stop();
    await cleanupNode(agent.nodeId);
  });

  test("through the server: gateway and terminal survive garbage, the stack keeps serving", async () => {
    const base = server.url.replace("http", "ws");
    for (const kind of ["gateway", "terminal"]) {
      const code = await hammer(
        () =>
          new WebSocket(`${base}/api/v1/session/${kind}`, {
            headers: { authorization: `Bearer ${token}` },
          } as never),
        FRAMES,
      );
      expect([-1, 1000, 1003, 1006, 1007, 1009, 1011]).toContain(code);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // The gateway still answers a well-formed ping afterwards.
    const ws = new WebSocket(`${base}/api/v1/session/gateway`, {
      headers: { authorization: `Bearer ${token}` },
    } as never);
    const pong = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send(JSON.stringify({ type: "ping", id: "after" }));
      ws.onmessage = (e) => {
        const message = JSON.parse(String(e.data));
        if (message.type === "pong") resolve(message.id);
      };
      ws.onerror = reject;
    });
    expect(pong).toBe("after");
    ws.close();
  });

  test("straight at the agent, signed: garbage on gateway and terminal leaves it healthy", async () => {
    const client = new AgentClient({
      url: agent.url,
      fingerprint: agent.fingerprint,
      keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
    });
    const [container] = await client.list();
    for (const kind of ["gateway", "terminal"] as const) {
      await hammer(() => client.connect(container?.sessionId ?? "", kind), FRAMES);
    }
    expect((await client.health()).containers).toBe(1);
    expect((await client.get(container?.sessionId ?? ""))?.status).toBe("ready");
  });

  test("unauthenticated or cross-site upgrades are refused before any relay", async () => {
    const base = server.url.replace("http", "ws");
    for (const headers of [
      {},
      { authorization: "Bearer nonsense" },
      { authorization: `Bearer ${token}`, origin: "https://evil.example" },
    ]) {
      const ws = new WebSocket(`${base}/api/v1/session/gateway`, { headers } as never);
      const opened = await new Promise<boolean>((resolve) => {
        ws.onopen = () => resolve(true);
        ws.onerror = () => resolve(false);
        ws.onclose = () => resolve(false);
      });
      expect(opened).toBe(false);
    }
  });
});
