// An app's WebSocket through the agent's splice (WS /v1/containers/:id/app-socket?path=…): a path the
// container upgrades is echoed both ways; a path it answers with a page instead is a 502 to the
// caller, logged once, and the container's next socket still opens.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { AgentClient } from "../../agent/api/client.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { parseKeyring } from "../../common/keyring.ts";
import { cleanupNode, startTestAgent, TEST_CLUSTER_SECRET, volumeKey } from "../helpers/fleet.ts";
import { tempDir } from "../helpers/process.ts";
import { ensureTestboxImage, TESTBOX_TEMPLATE } from "./testbox/image.ts";

const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
const sessionId = crypto.randomUUID();
const logs: string[] = [];
let agent: RunningAgent;
let client: AgentClient;
let templates = "";

beforeAll(async () => {
  await ensureTestboxImage();
  templates = join(tempDir("cf-appsplice"), "templates.json");
  await Bun.write(templates, JSON.stringify([{ ...TESTBOX_TEMPLATE, appPort: TESTBOX_TEMPLATE.port }]));
  agent = await startTestAgent({ CLAWFLEET_AGENT_TEMPLATES: templates }, logs);
  client = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
  await client.spawn({
    sessionId,
    template: "testbox",
    limits: { cpuMillis: 1000, memoryMb: 256, pidsLimit: 128, diskMb: 512 },
    volume: volumeKey(),
  });
});

afterAll(async () => {
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  if (templates) rmSync(dirname(templates), { recursive: true, force: true });
});

function outcome(ws: WebSocket): Promise<"open" | "refused"> {
  return new Promise((resolve) => {
    ws.onopen = () => resolve("open");
    ws.onerror = () => resolve("refused");
  });
}

test("an app socket the container upgrades is spliced and echoes", async () => {
  const ws = await client.connect(sessionId, "appSocket", "/app-socket");
  expect(await outcome(ws)).toBe("open");
  const echoed = new Promise<string>((resolve) => {
    ws.onmessage = (e) => resolve(String(e.data));
  });
  ws.send("through the splice");
  expect(await echoed).toBe("through the splice");
  ws.close();
});

test("a path the container answers with a page is refused once, and the next socket opens", async () => {
  const refusals = () => logs.filter((line) => line.includes("the container's app refused a WebSocket"));
  const before = refusals().length;
  expect(await outcome(await client.connect(sessionId, "appSocket", "/app"))).toBe("refused");
  await Bun.sleep(200);
  expect(refusals().length).toBe(before + 1);
  expect(refusals().at(-1)).toContain("answered 200");
  const ws = await client.connect(sessionId, "appSocket", "/app-socket");
  expect(await outcome(ws)).toBe("open");
  ws.close();
});
