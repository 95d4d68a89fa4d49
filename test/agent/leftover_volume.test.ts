// A kill whose removal did not finish can leave a session's volume on its node after the server shredded
// the key. The next spawn carries a key the server made just now (`volume.fresh`): the node replaces the
// leftover (nothing in it can be read) instead of refusing the key forever; without `fresh` it refuses.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { AgentClient, AgentRequestError } from "../../agent/api/client.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { parseKeyring } from "../../common/keyring.ts";
import {
  cleanupNode,
  dockerInspect,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../helpers/fleet.ts";

const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 64 };
let agent: RunningAgent;
let client: AgentClient;

beforeAll(async () => {
  await ensureRuntimeImage();
  agent = await startTestAgent();
  client = new AgentClient({
    url: agent.url,
    fingerprint: agent.fingerprint,
    keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
  });
});

afterAll(async () => {
  await agent?.stop();
  if (agent) await cleanupNode(agent.nodeId);
  if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
});

const spawn = (sessionId: string, fresh: boolean) =>
  client.spawn({
    sessionId,
    template: "clawfleet-runtime",
    limits,
    volume: fresh ? { ...volumeKey(), fresh: true } : volumeKey(),
  });

const exec = (sessionId: string, script: string) =>
  Bun.spawnSync(["docker", "exec", `clawfleet-${sessionId}`, "sh", "-c", script]);

test("a spawn with a fresh key replaces a killed session's leftover volume; without it the key is refused", async () => {
  const sessionId = crypto.randomUUID();
  await spawn(sessionId, true);
  expect(exec(sessionId, "echo before-the-kill > /data/left.txt").exitCode).toBe(0);
  // What an unfinished kill leaves: the container gone, the volume still mounted on the node.
  Bun.spawnSync(["docker", "rm", "-f", `clawfleet-${sessionId}`]);
  expect(agent.manager.volumes.sizeMb(sessionId)).not.toBeNull();

  const refused = await spawn(sessionId, false).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(AgentRequestError);
  expect((refused as AgentRequestError).code).toBe("volume_key_mismatch");
  expect(dockerInspect(`clawfleet-${sessionId}`)).toBeNull();

  await spawn(sessionId, true);
  expect(dockerInspect(`clawfleet-${sessionId}`)?.State.Running).toBe(true);
  expect(exec(sessionId, "ls /data").stdout.toString()).not.toContain("left.txt");
  expect(exec(sessionId, "echo after > /data/new.txt && cat /data/new.txt").stdout.toString()).toContain(
    "after",
  );
});

test("a fresh key never replaces the volume of a container that is still there", async () => {
  const sessionId = crypto.randomUUID();
  await spawn(sessionId, true);
  expect(exec(sessionId, "echo kept > /data/kept.txt").exitCode).toBe(0);
  Bun.spawnSync(["docker", "stop", "-t", "1", `clawfleet-${sessionId}`]);
  const refused = await spawn(sessionId, true).catch((error: unknown) => error);
  expect((refused as AgentRequestError).code).toBe("volume_key_mismatch");
  // The data is still there (its own key is still in the kernel: nothing locked it).
  const kept = join(agent.manager.volumes.dataPath(sessionId), "kept.txt");
  expect(readFileSync(kept, "utf8")).toBe("kept\n");
});

test("the node lists a volume without a container and removes it only once nothing uses it", async () => {
  const sessionId = crypto.randomUUID();
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: AgentRequestError) => `${error.status} ${error.code}`,
    );
  await spawn(sessionId, true);
  expect(await client.leftoverVolumes()).not.toContain(sessionId);
  expect(await refusal(client.removeLeftoverVolume(sessionId))).toBe("409 busy");
  Bun.spawnSync(["docker", "rm", "-f", `clawfleet-${sessionId}`]);
  expect(await client.leftoverVolumes()).toContain(sessionId);
  // Its key is still in the kernel (as while a spawn is under way): left alone.
  expect(await refusal(client.removeLeftoverVolume(sessionId))).toBe("409 busy");
  const image = agent.manager.volumes.imagePath(sessionId);
  expect(existsSync(image)).toBe(true);
  await agent.manager.volumes.lock(sessionId);
  expect(await refusal(client.removeLeftoverVolume(sessionId))).toBeNull();
  expect(existsSync(image)).toBe(false);
  expect(await client.leftoverVolumes()).not.toContain(sessionId);
  expect(await refusal(client.removeLeftoverVolume("../etc"))).toMatch(/^4\d\d /);
});
