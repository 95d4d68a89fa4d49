// The spawn warm pool (agent/spawn/network_pool.ts, agent/volumes/image_pool.ts) on a real engine:
// a pooled network or volume image goes to one container only, never back to the pool, leaves with
// its session's kill, and whatever waits unused is removed on shutdown and by the network sweep.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { AgentClient } from "../../agent/api/client.ts";
import { poolNetworkConfig, poolNetworkId, poolNetworkName } from "../../agent/isolation.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { parseKeyring } from "../../common/keyring.ts";
import {
  cleanupNode,
  dockerInspect,
  dockerNetworkSide,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../helpers/fleet.ts";

const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 64 };

function poolNetworks(nodeId: string): string[] {
  return Bun.spawnSync([
    "docker",
    "network",
    "ls",
    "--format",
    "{{.Name}}",
    "--filter",
    `label=clawfleet.node=${nodeId}`,
    "--filter",
    "label=clawfleet.pool=1",
  ])
    .stdout.toString()
    .split("\n")
    .filter(Boolean);
}

/** Bounded: the pool fills in the background. */
async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("the spawn warm pool", () => {
  let agent: RunningAgent;
  let client: AgentClient;
  let poolDir = "";
  const a = crypto.randomUUID();
  const b = crypto.randomUUID();
  const networkOf = (sessionId: string) =>
    dockerInspect(`clawfleet-${sessionId}`)?.Config.Labels["clawfleet.network"] as string;

  beforeAll(async () => {
    await ensureRuntimeImage();
    agent = await startTestAgent({ CLAWFLEET_AGENT_WARM_POOL: "1" });
    client = new AgentClient({
      url: agent.url,
      fingerprint: agent.fingerprint,
      keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
    });
    poolDir = join(agent.dataDir, "volumes", "pool");
  });

  afterAll(async () => {
    await agent?.stop();
    if (agent) await cleanupNode(agent.nodeId);
    if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
  });

  test("each spawn gets a network and an image of its own, never one another container had", async () => {
    // Waiting means made, with its sandbox started (agent/spawn/sandboxes.ts): not just listed.
    await agent.manager.warmPoolIdle();
    const [waiting] = poolNetworks(agent.nodeId);
    await client.spawn({ sessionId: a, template: "clawfleet-runtime", limits, volume: volumeKey() });
    expect(networkOf(a)).toBe(waiting ?? "");
    // Refilled after the spawn: a new network, and an image of the size just asked for.
    await until(() => poolNetworks(agent.nodeId).length === 2, "the refill");
    await agent.manager.warmPoolIdle();
    await until(() => readdirSync(poolDir).filter((n) => n.endsWith(".img")).length === 1, "a warm image");
    const [image] = readdirSync(poolDir).filter((n) => n.endsWith(".img"));
    // A waiting image is never attached nor mounted (nothing could have written a tenant's data to it).
    const loops = Bun.spawnSync(["losetup", "--associated", join(poolDir, image ?? "")]).stdout.toString();
    expect(loops.trim()).toBe("");

    await client.spawn({ sessionId: b, template: "clawfleet-runtime", limits, volume: volumeKey() });
    expect(networkOf(b)).not.toBe(networkOf(a));
    expect(existsSync(join(poolDir, image ?? ""))).toBe(false);
    expect(existsSync(join(agent.dataDir, "volumes", `${b}.img`))).toBe(true);
    for (const sessionId of [a, b]) {
      const attached = Object.keys(dockerInspect(networkOf(sessionId))?.Containers ?? {});
      expect(attached).toEqual([dockerNetworkSide(`clawfleet-${sessionId}`)?.Id]);
    }
  });

  test("kill removes the pooled network with the container; it never returns to the pool", async () => {
    const network = networkOf(a);
    await client.remove(a);
    expect(dockerInspect(network)).toBeNull();
    await until(() => poolNetworks(agent.nodeId).length === 2, "the refill after b");
    expect(poolNetworks(agent.nodeId)).not.toContain(network);
  });

  test("the sweep removes a pool network nobody holds and keeps the one waiting and the one in use", async () => {
    const stray = poolNetworkId();
    const proc = Bun.spawnSync([
      "curl",
      "-sf",
      "--unix-socket",
      "/var/run/docker.sock",
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify(poolNetworkConfig(stray, agent.nodeId)),
      "http://docker/v1.41/networks/create",
    ]);
    expect(proc.exitCode).toBe(0);
    const before = poolNetworks(agent.nodeId);
    expect(before).toContain(poolNetworkName(stray));
    await agent.manager.sweepNetworks();
    const after = poolNetworks(agent.nodeId);
    expect(after).not.toContain(poolNetworkName(stray));
    expect(after).toContain(networkOf(b));
    expect(after.length).toBe(before.length - 1);
  });

  test("shutdown removes what waits in the pool, not what a container uses", async () => {
    const inUse = networkOf(b);
    await agent.stop();
    expect(poolNetworks(agent.nodeId)).toEqual([inUse]);
    expect(readdirSync(poolDir)).toEqual([]);
  });
});
