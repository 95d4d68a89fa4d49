// The server's relay (common/ws_relay.ts) on the whole path: browser → server's
// /api/v1/session/gateway → agent (TLS, signed, its splice) → a container of the test's own image
// (test/agent/testbox), run as the default template. Frames keep their order and type though the
// relay gathers what arrives in one turn into one corked write; a slow browser slows the container
// down and a slow container slows the browser down instead of filling the server; what the
// container sent before its close arrives before the close.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { RunningAgent } from "../../agent/server.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import {
  type BoxStats,
  expectSlowBoxStallsSender,
  expectSlowReaderStallsBox,
  type PausableSocket,
} from "../agent/testbox/back_pressure.ts";
import { ensureTestboxImage, TESTBOX_TEMPLATE } from "../agent/testbox/image.ts";
import { apiClient } from "../helpers/accounts.ts";
import { cleanupNode, dockerNetworkSide, startTestAgent, TEST_CLUSTER_SECRET } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/wait.ts";

describe("the server's session relay, end to end", () => {
  let agent: RunningAgent;
  let server: TestServer;
  let token = "";
  const accounts = apiClient(() => server);
  let boxPort = 0;
  const boxStats = async (): Promise<BoxStats> =>
    (await fetch(`http://127.0.0.1:${boxPort}/stats`)).json() as Promise<BoxStats>;

  async function open(): Promise<PausableSocket> {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/session/gateway`, {
      headers: { authorization: `Bearer ${token}` },
    } as never) as PausableSocket;
    ws.binaryType = "arraybuffer";
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    return ws;
  }

  beforeAll(async () => {
    await ensureTestboxImage();
    const templates = join(tempDir("cf-relay-templates"), "templates.json");
    await Bun.write(templates, JSON.stringify([{ ...TESTBOX_TEMPLATE, name: "clawfleet-runtime" }]));
    agent = await startTestAgent({ CLAWFLEET_AGENT_TEMPLATES: templates });
    server = await startTestServer("pglite", { env: { CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET } });
    await addNode(server.ctx.database.db, { name: "n1", url: agent.url, fingerprint: agent.fingerprint });
    await server.reconcile();
    const account = await accounts.signup("relay@example.test");
    token = account.access;
    await server.ctx.database.db.execute(
      sql`update users set plan_id = 'ultra' where id = ${account.userId}`,
    );
    expect((await accounts.call("POST", "/session/spawn", undefined, token)).status).toBe(202);
    await waitFor(
      "running",
      async () =>
        ((await (await accounts.call("GET", "/session", undefined, token)).json()) as { state: string })
          .state,
      (s) => s === "running",
      60_000,
    );
    const [container] = await agent.manager.list();
    boxPort = Number(
      dockerNetworkSide(container?.dockerId ?? "")?.NetworkSettings.Ports["8080/tcp"][0].HostPort,
    );
  });

  afterAll(async () => {
    await server?.close();
    await agent?.stop();
    if (agent) await cleanupNode(agent.nodeId);
  });

  test("frames sent in one burst come back in order and keep their type", async () => {
    const ws = await open();
    const received: (string | number)[] = [];
    ws.onmessage = (e) =>
      received.push(typeof e.data === "string" ? e.data : new DataView(e.data as ArrayBuffer).getUint32(0));
    const sent: (string | number)[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) {
        const frame = new Uint8Array(4 + (i % 50));
        new DataView(frame.buffer).setUint32(0, i);
        ws.send(frame);
        sent.push(i);
      } else {
        ws.send(`t${i}`);
        sent.push(`t${i}`);
      }
    }
    await waitFor(
      "every echo",
      async () => received.length,
      (n) => n >= sent.length,
      20_000,
      20,
    );
    expect(received).toEqual(sent);
    ws.close();
  });

  test("a slow browser slows the container down instead of filling the server", async () => {
    await expectSlowReaderStallsBox(await open(), boxStats, 60_000);
  });

  test("a slow container slows the browser down instead of filling the server", async () => {
    await expectSlowBoxStallsSender(await open(), boxStats, 32 * 1024 * 1024);
  });

  test("what the container sent before its close arrives first, then the close with its code", async () => {
    const ws = await open();
    let frames = 0;
    ws.onmessage = () => frames++;
    const closed = new Promise<[number, string, number]>((resolve) => {
      ws.onclose = (e) => resolve([e.code, e.reason, frames]);
    });
    ws.send("!flood 200 100");
    ws.send("!close 4321 bye from the box");
    expect(await closed).toEqual([4321, "bye from the box", 200]);
  });
});
