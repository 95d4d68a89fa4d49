// Warm-pool sandboxes (agent/spawn/sandboxes.ts): a pooled network waits with a started, hardened
// namespace holder; a spawn's container joins it; kill and the sweep remove it with its network; a
// container whose sandbox is gone (a node reboot) comes back on the network with its own namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { AgentClient } from "../../agent/api/client.ts";
import { DockerClient } from "../../agent/docker/client.ts";
import { poolNetworkConfig, poolNetworkId, poolNetworkName, sandboxName } from "../../agent/isolation.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { Sandboxes, sandboxSpec } from "../../agent/spawn/sandboxes.ts";
import { BUILTIN_TEMPLATES } from "../../agent/templates.ts";
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

const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 256 };
const exists = (name: string) => Bun.spawnSync(["docker", "inspect", name]).exitCode === 0;

describe("warm-pool sandboxes", () => {
  let agent: RunningAgent;
  let client: AgentClient;
  const session = crypto.randomUUID();
  const key = volumeKey();

  beforeAll(async () => {
    await ensureRuntimeImage();
    agent = await startTestAgent({ CLAWFLEET_AGENT_WARM_POOL: "1" });
    client = new AgentClient({
      url: agent.url,
      fingerprint: agent.fingerprint,
      keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
    });
    await agent.manager.warmPoolIdle();
    await client.spawn({ sessionId: session, template: "clawfleet-runtime", limits, volume: key });
  });

  afterAll(async () => {
    await agent?.stop();
    if (agent) await cleanupNode(agent.nodeId);
    if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
  });

  test("the container joins its pooled network's sandbox, which is hardened and nobody's", async () => {
    const container = dockerInspect(`clawfleet-${session}`);
    const network = container?.Config.Labels["clawfleet.network"];
    expect(network).toMatch(/^clawfleet-pool-p[0-9a-f]{11}$/);
    const sandbox = dockerInspect(sandboxName(network));
    expect(container?.HostConfig.NetworkMode).toBe(`container:${sandbox?.Id}`);
    expect(dockerNetworkSide(`clawfleet-${session}`)?.Id).toBe(sandbox?.Id);
    const h = sandbox?.HostConfig;
    expect(sandbox?.State.Running).toBe(true);
    expect(sandbox?.Config.User).toBe("1000:1000");
    expect(sandbox?.Config.Cmd).toEqual(["infinity"]);
    expect(h.CapDrop).toEqual(["ALL"]);
    expect(h.Privileged).toBe(false);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.SecurityOpt).toContain("no-new-privileges:true");
    expect((h.SecurityOpt as string[]).some((o) => o.startsWith("seccomp="))).toBe(true);
    expect(h.Memory).toBe(16 * 1024 * 1024);
    expect(h.PidsLimit).toBe(8);
    expect(h.RestartPolicy.Name).toBe("no");
    // No volume: the image's VOLUME (/data) is an empty read-only tmpfs, not an anonymous volume.
    expect(sandbox?.Mounts).toEqual([]);
    expect(h.Tmpfs).toEqual({ "/data": "ro,size=4k,noexec,nosuid,nodev" });
    // Published on the node's loopback only, and it is the port the spawn answered on.
    const bindings = Object.values(sandbox?.NetworkSettings.Ports).flat() as { HostIp: string }[];
    expect(bindings.length).toBe(1);
    expect(bindings[0]?.HostIp).toBe("127.0.0.1");
    // No session, not managed: never listed as a user container.
    expect(sandbox?.Config.Labels["clawfleet.session"]).toBeUndefined();
    expect(sandbox?.Config.Labels["clawfleet.managed"]).toBeUndefined();
    expect((await client.list()).map((c) => c.sessionId)).toEqual([session]);
    // The network carries the namespace holder only: no other tenant's container.
    expect(Object.keys(dockerInspect(network)?.Containers ?? {})).toEqual([sandbox?.Id]);
    // Reached through the sandbox's published port, and (the relays) at the namespace's bridge address.
    const published = (bindings[0] as unknown as { HostPort: string }).HostPort;
    expect((await fetch(`http://127.0.0.1:${published}/healthz`)).status).toBe(200);
    const target = new URL((await agent.manager.gatewayTarget(session)).url);
    const ip = (Object.values(sandbox?.NetworkSettings.Networks)[0] as { IPAddress: string }).IPAddress;
    expect(target.host).toBe(`${ip}:8080`);
    expect((await fetch(`http://${target.host}/healthz`)).status).toBe(200);
  });

  test("with its sandbox gone (a reboot), restore brings the container back with its own namespace", async () => {
    const before = dockerInspect(`clawfleet-${session}`);
    const network = before?.Config.Labels["clawfleet.network"];
    // What a reboot leaves: both stopped (the sandbox never restarts by itself).
    Bun.spawnSync(["docker", "stop", "-t", "1", `clawfleet-${session}`, sandboxName(network)]);
    await client.restore(session, { volume: key });
    const after = dockerInspect(`clawfleet-${session}`);
    expect(after?.State.Running).toBe(true);
    expect(after?.Id).not.toBe(before?.Id);
    expect(after?.HostConfig.NetworkMode).toBe(network);
    expect(Object.keys(after?.NetworkSettings.Networks)).toEqual([network]);
    expect(after?.NetworkSettings.Ports["8080/tcp"]?.[0]?.HostIp).toBe("127.0.0.1");
    expect(exists(sandboxName(network))).toBe(false);
    const target = new URL((await agent.manager.gatewayTarget(session)).url);
    const ip = after?.NetworkSettings.Networks[network]?.IPAddress;
    expect(target.host).toBe(`${ip}:8080`);
    expect((await fetch(`http://${target.host}/healthz`)).status).toBe(200);
  });

  test("kill removes the container, its sandbox and its network", async () => {
    const fresh = crypto.randomUUID();
    await agent.manager.warmPoolIdle();
    await client.spawn({ sessionId: fresh, template: "clawfleet-runtime", limits, volume: volumeKey() });
    const network = dockerInspect(`clawfleet-${fresh}`)?.Config.Labels["clawfleet.network"];
    expect(exists(sandboxName(network))).toBe(true);
    await client.remove(fresh);
    expect(exists(`clawfleet-${fresh}`)).toBe(false);
    expect(exists(sandboxName(network))).toBe(false);
    expect(exists(network)).toBe(false);
  });

  test("the sweep removes a pooled network and sandbox no agent holds (a previous agent's pool)", async () => {
    const docker = new DockerClient(process.env.DOCKER_SOCKET ?? "/var/run/docker.sock");
    const id = poolNetworkId();
    const network = poolNetworkName(id);
    await docker.createNetwork(poolNetworkConfig(id, agent.nodeId));
    const sandboxes = new Sandboxes({
      docker,
      nodeId: agent.nodeId,
      spec: sandboxSpec(BUILTIN_TEMPLATES, { apparmor: false }),
      log: { warn: () => {} },
    });
    expect(await sandboxes.start(network)).toBeString();
    expect(dockerInspect(sandboxName(network))?.State.Running).toBe(true);
    await agent.manager.sweepNetworks();
    expect(exists(sandboxName(network))).toBe(false);
    expect(exists(network)).toBe(false);
    // The agent's own waiting network and its sandbox stay.
    await agent.manager.warmPoolIdle();
    const waiting = Bun.spawnSync([
      "docker",
      "ps",
      "-q",
      "--filter",
      `label=clawfleet.node=${agent.nodeId}`,
      "--filter",
      "label=clawfleet.sandbox=1",
    ])
      .stdout.toString()
      .trim()
      .split("\n")
      .filter(Boolean);
    expect(waiting.length).toBe(1);
  });
});
