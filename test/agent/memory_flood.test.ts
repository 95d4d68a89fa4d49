// SECURITY.md finding 1: a user must not be able to grow a node agent's memory by flooding a socket
// whose far end does not read. The agent runs as its own process here so its RSS is its own: 4 MiB
// frames are sent for 30 s to a container that stopped reading, then freeze ends the sockets, and a
// frozen container takes no new ones.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Subprocess } from "bun";
import { AgentClient, type AgentRequestError } from "../../agent/api/client.ts";
import { parseKeyring } from "../../common/keyring.ts";
import { agentEnv, cleanupNode, TEST_CLUSTER_SECRET, volumeKey } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";
import { ensureTestboxImage, testboxTemplatesFile } from "./testbox/image.ts";

const root = resolve(import.meta.dir, "../..");
const limits = { cpuMillis: 1000, memoryMb: 256, pidsLimit: 128, diskMb: 512 };
const volume = volumeKey();
const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
const FRAME = 4 * 1024 * 1024 - 64;
const FLOOD_MS = 30_000;

let agent: Subprocess | null = null;
let client: AgentClient;
let env: Record<string, string> = {};
let templatesFile = "";
const sessionId = crypto.randomUUID();

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return Number(line?.[1] ?? 0) / 1024;
}

async function openGateway(): Promise<WebSocket> {
  const ws = await client.connect(sessionId, "gateway");
  ws.binaryType = "arraybuffer";
  await new Promise((ok, fail) => {
    ws.onopen = ok;
    ws.onerror = fail;
  });
  return ws;
}

beforeAll(async () => {
  await ensureTestboxImage();
  templatesFile = await testboxTemplatesFile();
  env = agentEnv({ CLAWFLEET_AGENT_TEMPLATES: templatesFile, CLAWFLEET_LOG_LEVEL: "info" });
  agent = Bun.spawn([process.execPath, "agent/main.ts", "run"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  // The agent prints its port and fingerprint in its "agent listening" line.
  const reader = (agent.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  let listening: { port: number; fingerprint: string } | null = null;
  const deadline = Date.now() + 30_000;
  while (!listening && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    for (const line of text.split("\n")) {
      if (line.includes('"agent listening"')) listening = JSON.parse(line);
    }
  }
  reader.releaseLock();
  if (!listening) throw new Error(`the agent did not start: ${text}`);
  void (agent.stdout as ReadableStream<Uint8Array>).pipeTo(new WritableStream());
  client = new AgentClient({
    url: `https://127.0.0.1:${listening.port}`,
    fingerprint: listening.fingerprint,
    keys,
  });
  await client.spawn({ sessionId, template: "testbox", limits, volume });
});

afterAll(async () => {
  agent?.kill();
  await agent?.exited;
  await cleanupNode(env.CLAWFLEET_NODE_ID ?? "");
  if (env.CLAWFLEET_AGENT_DATA_DIR) rmSync(env.CLAWFLEET_AGENT_DATA_DIR, { recursive: true, force: true });
  if (templatesFile) rmSync(dirname(templatesFile), { recursive: true, force: true });
});

test(
  "4 MiB frames for 30 s at a container that stopped reading grow the agent's RSS by less than 64 MiB",
  async () => {
    const pid = agent?.pid ?? 0;
    const ws = await openGateway();
    ws.send("!pause 60000");
    await Bun.sleep(200);
    Bun.gc(true);
    const before = rssMiB(pid);
    const frame = new Uint8Array(FRAME);
    let offered = 0;
    let peak = before;
    const end = Date.now() + FLOOD_MS;
    while (Date.now() < end && ws.readyState === WebSocket.OPEN) {
      // Our own socket's buffer is where an honest sender waits: keep it topped up, bounded.
      if (ws.bufferedAmount < 32 * 1024 * 1024) {
        ws.send(frame);
        offered += FRAME;
      }
      await Bun.sleep(20);
      peak = Math.max(peak, rssMiB(pid));
    }
    // The flood ran, and it is the sender that waits (its own buffer is full) while the agent holds
    // on to little: an agent that absorbed frames would keep the sender's buffer empty and grow.
    expect(offered).toBeGreaterThan(32 * 1024 * 1024);
    expect(ws.bufferedAmount).toBeGreaterThan(16 * 1024 * 1024);
    expect(peak - before).toBeLessThan(64);
    ws.close();
  },
  FLOOD_MS + 30_000,
);

test("freezing a container ends its open sockets, and a frozen container takes no new ones", async () => {
  const ws = await openGateway();
  const closed = new Promise<{ code: number; reason: string }>((ok) => {
    ws.onclose = (event) => ok({ code: event.code, reason: event.reason });
  });
  await client.freeze(sessionId);
  const close = await Promise.race([closed, Bun.sleep(5000).then(() => null)]);
  expect(close?.code).toBe(1001);
  expect(close?.reason).toContain("frozen");
  const refused = await openGateway().then(
    () => null,
    (error) => error,
  );
  expect(refused).not.toBeNull();
  await client.restore(sessionId, { volume });
  await waitFor(
    "the gateway again",
    async () =>
      openGateway()
        .then((s) => {
          s.close();
          return true;
        })
        .catch(() => false),
    (ok) => ok,
    10_000,
  );
});

test("the agent's sockets to removed containers end too", async () => {
  const ws = await openGateway();
  const closed = new Promise<number>((ok) => {
    ws.onclose = (event) => ok(event.code);
  });
  await client.remove(sessionId);
  expect(await Promise.race([closed, Bun.sleep(5000).then(() => 0)])).toBe(1001);
  expect(await client.get(sessionId).catch((e: AgentRequestError) => e.status)).toBeNull();
});
