// WS /v1/containers/:id/gateway against a container of the test's own image (testbox/): frames relayed
// in order with their type, the per-container token added by the agent, close codes mirrored both
// ways, and back-pressure passed through in both directions instead of being absorbed by the agent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { AgentClient, type AgentRequestError } from "../../agent/api/client.ts";
import { type ClusterKey, signRequest } from "../../agent/api/contract.ts";
import { AGENT_API_VERSION, VERSION_HEADER } from "../../agent/api/route_table.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { parseKeyring } from "../../common/keyring.ts";
import {
  cleanupNode,
  dockerNetworkSide,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { expectSlowBoxStallsSender, expectSlowReaderStallsBox } from "./testbox/back_pressure.ts";
import { ensureTestboxImage, testboxTemplatesFile } from "./testbox/image.ts";

const limits = { cpuMillis: 1000, memoryMb: 256, pidsLimit: 128, diskMb: 512 };
const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
const volume = volumeKey();
type Stats = {
  connections: number;
  unauthorized: number;
  received: number;
  floodSent: number;
  floodDone: boolean;
  lastClose: { code: number; reason: string } | null;
  keys: string[];
};

describe("the gateway WebSocket proxy", () => {
  let agent: RunningAgent;
  let client: AgentClient;
  const sessionId = crypto.randomUUID();
  let boxPort = 0;
  let templatesFile = "";
  const boxStats = async (): Promise<Stats> =>
    (await fetch(`http://127.0.0.1:${boxPort}/stats`)).json() as Promise<Stats>;

  async function open(): Promise<WebSocket & { pause(): boolean; resume(): boolean }> {
    const ws = (await client.connect(sessionId, "gateway")) as WebSocket & {
      pause(): boolean;
      resume(): boolean;
    };
    ws.binaryType = "arraybuffer";
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    return ws;
  }

  beforeAll(async () => {
    await ensureTestboxImage();
    templatesFile = await testboxTemplatesFile();
    agent = await startTestAgent({ CLAWFLEET_AGENT_TEMPLATES: templatesFile });
    client = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
    await client.spawn({
      sessionId,
      template: "testbox",
      limits,
      volume,
    });
    boxPort = Number(
      dockerNetworkSide(`clawfleet-${sessionId}`)?.NetworkSettings.Ports["8080/tcp"][0].HostPort,
    );
  });

  afterAll(async () => {
    await agent?.stop();
    if (agent) await cleanupNode(agent.nodeId);
    if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
    if (templatesFile) rmSync(dirname(templatesFile), { recursive: true, force: true });
  });

  test("an admin template's image runs, with the gateway credential in the variables the template names", async () => {
    expect((await client.get(sessionId))?.template).toBe("testbox");
    expect((await boxStats()).keys).toEqual([
      "ANTHROPIC_API_KEY",
      "GEMINI_API_KEY",
      "OPENAI_API_KEY",
      "OPENROUTER_API_KEY",
    ]);
  });

  test("frames are relayed in order and keep their type, both ways", async () => {
    const ws = await open();
    const received: (string | number)[] = [];
    ws.onmessage = (e) =>
      received.push(typeof e.data === "string" ? e.data : new DataView(e.data as ArrayBuffer).getUint32(0));
    const sent: (string | number)[] = [];
    for (let i = 0; i < 500; i++) {
      if (i % 2) {
        const frame = new Uint8Array(4 + (i % 97));
        new DataView(frame.buffer).setUint32(0, i);
        ws.send(frame);
        sent.push(i);
      } else {
        ws.send(`text-${i}-${"é".repeat(i % 13)}`);
        sent.push(`text-${i}-${"é".repeat(i % 13)}`);
      }
    }
    await waitFor(
      "all echoes",
      async () => received.length,
      (n) => n >= sent.length,
      10_000,
      20,
    );
    expect(received).toEqual(sent);
    ws.close();
  });

  test("the agent adds the container's gateway token; without it the gateway refuses", async () => {
    const before = (await boxStats()).unauthorized;
    const direct = new WebSocket(`ws://127.0.0.1:${boxPort}/gateway`);
    const code = await new Promise<number>((resolve) => {
      direct.onclose = (e) => resolve(e.code);
    });
    expect(code).toBe(1006);
    expect((await boxStats()).unauthorized).toBe(before + 1);
    const ws = await open();
    ws.close();
  });

  test("a close from the container reaches the control plane with its code and reason", async () => {
    const ws = await open();
    const closed = new Promise<[number, string]>((resolve) => {
      ws.onclose = (e) => resolve([e.code, e.reason]);
    });
    ws.send("!close 4321 bye from the box");
    expect(await closed).toEqual([4321, "bye from the box"]);
  });

  test("a close from the control plane reaches the container with its code and reason", async () => {
    const ws = await open();
    ws.close(4002, "bye from the server");
    const stats = await waitFor(
      "the box to see the close",
      boxStats,
      (s) => s.lastClose?.code === 4002,
      5000,
      20,
    );
    expect(stats.lastClose).toEqual({ code: 4002, reason: "bye from the server" });
  });

  test("a slow control plane slows the container down instead of filling the agent", async () => {
    await expectSlowReaderStallsBox(await open(), boxStats, 30_000);
  });

  test("a slow container slows the control plane down instead of filling the agent", async () => {
    // Most of it still waits on this side: the agent stopped reading once the container stopped.
    await expectSlowBoxStallsSender(await open(), boxStats, 40 * 1024 * 1024);
  });

  test("a frozen container's gateway is refused with 409; an unknown session is 404", async () => {
    await client.freeze(sessionId);
    try {
      const frozen = await client.call("gateway", sessionId).catch((e: unknown) => e);
      expect((frozen as AgentRequestError).status).toBe(426);
      // The upgrade request itself, signed, as the WebSocket client sends it: refused before upgrading.
      const path = `/v1/containers/${sessionId}/gateway`;
      const upgrade = await fetch(`${agent.url}${path}`, {
        headers: {
          ...(await signRequest(keys[0] as ClusterKey, "GET", path)),
          [VERSION_HEADER]: AGENT_API_VERSION,
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64"),
        },
        tls: { rejectUnauthorized: false },
      } as RequestInit);
      expect(upgrade.status).toBe(409);
      expect(((await upgrade.json()) as { error: { code: string } }).error.code).toBe("paused");
      const ws = await client.connect(sessionId, "gateway");
      const outcome = await new Promise<string>((resolve) => {
        ws.onopen = () => resolve("open");
        ws.onerror = () => resolve("refused");
      });
      expect(outcome).toBe("refused");
    } finally {
      await client.restore(sessionId, { volume });
    }
    const unknown = await client.call("stats", crypto.randomUUID()).catch((e: unknown) => e);
    expect((unknown as AgentRequestError).status).toBe(404);
    const ws = await open();
    ws.close();
  });

  test("an upgrade without a valid signature is refused with 401 before the container is contacted", async () => {
    const before = (await boxStats()).connections;
    const path = `/v1/containers/${sessionId}/gateway`;
    const upgradeHeaders = {
      [VERSION_HEADER]: AGENT_API_VERSION,
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64"),
    };
    const signedForAnotherPath = await signRequest(keys[0] as ClusterKey, "GET", `${path}x`);
    for (const headers of [upgradeHeaders, { ...upgradeHeaders, ...signedForAnotherPath }]) {
      const refused = await fetch(`${agent.url}${path}`, {
        headers,
        tls: { rejectUnauthorized: false },
      } as RequestInit);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
    expect((await boxStats()).connections).toBe(before);
  });

  test("a frame past the cap from the container ends that socket; the next one works", async () => {
    const ws = await open();
    const closed = new Promise<number>((resolve) => {
      ws.onclose = (e) => resolve(e.code);
    });
    let frames = 0;
    ws.onmessage = () => frames++;
    ws.send(`!flood 1 ${5 * 1024 * 1024}`);
    expect(await closed).toBe(1006);
    expect(frames).toBe(0);
    const next = await open();
    const echoed = new Promise<string>((resolve) => {
      next.onmessage = (e) => resolve(String(e.data));
    });
    next.send("still here");
    expect(await echoed).toBe("still here");
    next.close();
  });

  test("a quiet spliced socket stays open past the front's 10 s for a request head", async () => {
    const ws = await open();
    let closed = false;
    ws.onclose = () => {
      closed = true;
    };
    await Bun.sleep(11_500);
    expect(closed).toBe(false);
    const echoed = new Promise<string>((resolve) => {
      ws.onmessage = (e) => resolve(String(e.data));
    });
    ws.send("after a quiet while");
    expect(await echoed).toBe("after a quiet while");
    ws.close();
  });
});
