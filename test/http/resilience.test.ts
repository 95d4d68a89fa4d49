// While PostgreSQL is unreachable: a clear 503 (never a 5xx stack or a hang), /healthz still answers,
// and everything recovers by itself when it is back. Shutdown is graceful: in-flight requests finish
// and WebSocket clients get a close frame.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RunningAgent } from "../../agent/server.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { createPgDatabase } from "../helpers/db.ts";
import { cleanupNode, ensureRuntimeImage, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { json, startTestServer, type TestServer } from "../helpers/server.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp_proxy.ts";

const PASSWORD = "correct horse battery staple";

describe("PostgreSQL outage", () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let drop = async () => {};
  beforeAll(async () => {
    const db = await createPgDatabase();
    drop = db.drop;
    const target = new URL(db.url);
    proxy = startTcpProxy(Number(target.port));
    target.port = String(proxy.port);
    server = await startTestServer("postgres", { databaseUrl: target.toString() });
  });
  afterAll(async () => {
    proxy.restore();
    await server.close();
    proxy.stop();
    await drop();
  });

  test("a clear 503 while the database is away, recovery on its own when it returns", async () => {
    const signup = await json(
      await fetch(`${server.url}/api/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "outage@example.test", password: PASSWORD }),
      }),
    );
    const me = () =>
      fetch(`${server.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${signup.access_token}` } });
    expect((await me()).status).toBe(200);
    proxy.cut();
    const during = await me();
    expect(during.status).toBe(503);
    const body = await json(during);
    expect(body.error.code).toBe("database_unavailable");
    expect(JSON.stringify(body)).not.toMatch(/ECONN|stack|postgres:/i);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "outage@example.test", password: PASSWORD }),
    });
    expect(login.status).toBe(503);
    proxy.restore();
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await me()).status;
      if (status === 200) break;
      await Bun.sleep(200);
    }
    expect(status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});

describe("graceful shutdown", () => {
  let server: TestServer;
  let agent: RunningAgent;
  beforeAll(async () => {
    await ensureRuntimeImage();
    agent = await startTestAgent();
    server = await startTestServer("pglite", { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
    await addNode(server.ctx.database.db, { name: "n", url: agent.url, fingerprint: agent.fingerprint });
  });
  afterAll(async () => {
    await agent.stop();
    await cleanupNode(agent.nodeId);
  });

  test("in-flight requests finish and WebSocket clients get a close frame", async () => {
    const signup = await json(
      await fetch(`${server.url}/api/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "bye@example.test", password: PASSWORD }),
      }),
    );
    const auth = { authorization: `Bearer ${signup.access_token}` };
    await fetch(`${server.url}/api/v1/session/spawn`, { method: "POST", headers: auth });
    for (let i = 0; i < 100; i++) {
      const s = await json(await fetch(`${server.url}/api/v1/session`, { headers: auth }));
      if (s.state === "running") break;
      await Bun.sleep(100);
    }
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/gateway`, {
      headers: auth,
    } as never);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const closed = new Promise<number>((resolve) => {
      ws.onclose = (e) => resolve(e.code);
    });
    // Logins take a while (argon2): they are in flight when the stop begins.
    const inFlight = Array.from({ length: 6 }, (_, i) =>
      fetch(`${server.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: `nobody${i}@example.test`, password: "wrong password" }),
      }).then(
        (r) => r.status,
        () => 0,
      ),
    );
    // In flight means accepted by the server: on a busy machine 20 ms may not be enough for that.
    for (let i = 0; i < 250 && server.pendingRequests() < inFlight.length; i++) await Bun.sleep(20);
    const stopping = server.close();
    expect(await closed).toBe(1001);
    expect(await Promise.all(inFlight)).toEqual([401, 401, 401, 401, 401, 401]);
    await stopping;
  });
});
