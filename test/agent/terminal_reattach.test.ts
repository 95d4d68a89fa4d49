// A terminal's shell outlives its socket for a while: the same reconnect id reattaches to the same
// shell with its recent output replayed, another id gets another shell, a shell nobody reattaches to
// is hung up after the linger time, and removal ends them all.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { AgentClient } from "../../agent/api/client.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { parseKeyring } from "../../common/keyring.ts";
import {
  cleanupNode,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../helpers/fleet.ts";

const limits = { cpuMillis: 1000, memoryMb: 256, pidsLimit: 128, diskMb: 512 };
const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
/** One key: the test respawns the same session, which must bring the same key. */
const volume = volumeKey();
let agent: RunningAgent;
let client: AgentClient;
let dockerId = "";
const sessionId = crypto.randomUUID();

type Term = { ws: WebSocket; screen: () => string; send: (line: string) => void };

async function openTerminal(reconnect?: string): Promise<Term> {
  const ws = await client.connect(sessionId, "terminal", reconnect);
  ws.binaryType = "arraybuffer";
  let text = "";
  ws.onmessage = (e) => {
    text += new TextDecoder().decode(e.data as ArrayBuffer);
  };
  await new Promise((ok, fail) => {
    ws.onopen = ok;
    ws.onerror = fail;
  });
  return { ws, screen: () => text, send: (line) => ws.send(new TextEncoder().encode(`${line}\n`)) };
}

async function until(term: Term, needle: string | RegExp, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const screen = term.screen();
    if (typeof needle === "string" ? screen.includes(needle) : needle.test(screen)) return screen;
    await Bun.sleep(50);
  }
  throw new Error(`never saw ${needle}: ${term.screen().slice(-300)}`);
}

async function closed(term: Term) {
  const done = new Promise((ok) => {
    term.ws.onclose = ok;
  });
  term.ws.close();
  await done;
}

function shells(): number {
  return Bun.spawnSync(["docker", "top", dockerId, "-o", "pid,args"])
    .stdout.toString()
    .split("\n")
    .filter((l) => /\/bin\/sh$/.test(l.trim())).length;
}

beforeAll(async () => {
  await ensureRuntimeImage();
  agent = await startTestAgent({ CLAWFLEET_TERMINAL_LINGER_SECONDS: "3" });
  client = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
  dockerId = (await client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume })).dockerId;
});

afterAll(async () => {
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
});

test("the same reconnect id reattaches to the same shell and replays what it printed", async () => {
  const id = crypto.randomUUID();
  const first = await openTerminal(id);
  await until(first, "$ ");
  first.send("echo PID-$$-MARK-$((6*7))");
  const pid = /PID-(\d+)-MARK-42/.exec(await until(first, /PID-\d+-MARK-42/))?.[1];
  await closed(first);

  const again = await openTerminal(id);
  // The replay shows the earlier output before anything new is typed.
  await until(again, /PID-\d+-MARK-42/);
  again.send("echo AGAIN-$$");
  const screen = await until(again, /AGAIN-\d+/);
  expect(/AGAIN-(\d+)/.exec(screen)?.[1]).toBe(pid);
  expect(shells()).toBe(1);

  // Another id is another shell.
  const other = await openTerminal(crypto.randomUUID());
  await until(other, "$ ");
  other.send("echo OTHER-$$");
  expect(/OTHER-(\d+)/.exec(await until(other, /OTHER-\d+/))?.[1]).not.toBe(pid);
  expect(shells()).toBe(2);
  await closed(other);
  await closed(again);
});

test("a shell nobody reattaches to is hung up after the linger time", async () => {
  // The previous test's two shells linger for 3 s, then go.
  const settle = Date.now() + 10_000;
  while (shells() > 0 && Date.now() < settle) await Bun.sleep(100);
  const before = shells();
  expect(before).toBe(0);
  const term = await openTerminal(crypto.randomUUID());
  await until(term, "$ ");
  expect(shells()).toBe(before + 1);
  await closed(term);
  await Bun.sleep(1000);
  expect(shells()).toBe(before + 1);
  const deadline = Date.now() + 10_000;
  while (shells() > before && Date.now() < deadline) await Bun.sleep(100);
  expect(shells()).toBe(before);
});

test("without a reconnect id the shell ends with its socket, as before", async () => {
  const before = shells();
  const term = await openTerminal();
  await until(term, "$ ");
  await closed(term);
  const deadline = Date.now() + 5000;
  while (shells() > before && Date.now() < deadline) await Bun.sleep(50);
  expect(shells()).toBe(before);
});

test("removing the container ends its lingering shells", async () => {
  const id = crypto.randomUUID();
  const term = await openTerminal(id);
  await until(term, "$ ");
  await closed(term);
  await client.remove(sessionId);
  expect(await client.get(sessionId)).toBeNull();
  // A new container for the same session starts fresh: the old reconnect id is not reused.
  dockerId = (await client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume })).dockerId;
  const fresh = await openTerminal(id);
  await until(fresh, "$ ");
  expect(fresh.screen()).not.toContain("MARK");
  await closed(fresh);
});
