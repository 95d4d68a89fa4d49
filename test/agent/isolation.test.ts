// Every isolation rule of DESIGN.md, checked on real containers: from `docker inspect`, from the host
// (/proc), and from inside (what a tenant's shell can and cannot do). Blocks are proven against
// stand-ins the test owns: another container, the agent's own port, and addresses inside network
// namespaces the test creates (198.18.0.0/15, blocked by default like every non-public range; one
// of them opened with CLAWFLEET_EGRESS_ALLOW). Nothing is ever sent to 169.254.169.254 or any other
// address the test does not own: those blocks are read from the installed rules.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { AgentClient } from "../../agent/api/client.ts";
import { NON_PUBLIC_IPV4 } from "../../agent/egress.ts";
import { DEFAULT_BLOCKED, installFirewall } from "../../agent/firewall.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { parseKeyring } from "../../common/keyring.ts";
import type { FakeProvider } from "../fakes/provider.ts";
import {
  cleanupNode,
  dockerInspect,
  dockerNetworkSide,
  ensureRuntimeImage,
  startTestAgent,
  TEST_CLUSTER_SECRET,
  TEST_EGRESS_ALLOW,
  volumeKey,
} from "../helpers/fleet.ts";
import { createNetns, type Netns, startFakeProviderInNetns } from "../helpers/netns.ts";

const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 };

/** An HTTP GET made from inside the container with busybox nc (its wget is not usable here). */
function httpFromInside(container: string, host: string, port: number, path: string): string {
  const request = `GET ${path} HTTP/1.1\\r\\nHost: ${host}\\r\\nConnection: close\\r\\n\\r\\n`;
  return execIn(container, `printf '${request}' | nc -w 3 ${host} ${port}`).out;
}

function execIn(container: string, script: string, user?: string): { code: number; out: string } {
  const as = user ? ["-u", user] : [];
  const proc = Bun.spawnSync(["docker", "exec", ...as, container, "/bin/sh", "-c", script], {
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: proc.exitCode ?? 1, out: proc.stdout.toString() + proc.stderr.toString() };
}

describe("container isolation on a real engine", () => {
  let agent: RunningAgent;
  let client: AgentClient;
  let blockedNs: Netns;
  let allowedNs: Netns;
  let blockedFake: FakeProvider;
  let allowedFake: FakeProvider;
  const a = crypto.randomUUID();
  const b = crypto.randomUUID();
  let nameA = "";
  let ipB = "";
  let gatewayA = "";

  beforeAll(async () => {
    await ensureRuntimeImage();
    blockedNs = await createNetns();
    allowedNs = await createNetns();
    blockedFake = await startFakeProviderInNetns(blockedNs, 8088);
    allowedFake = await startFakeProviderInNetns(allowedNs, 8088);
    // Listening on every address, so the only thing between a container and the agent is the firewall.
    agent = await startTestAgent({
      CLAWFLEET_AGENT_LISTEN: "0.0.0.0:0",
      // Only this one stand-in is opened: its neighbour in 198.18/15 stays blocked by default.
      CLAWFLEET_EGRESS_ALLOW: `${allowedNs.address}/32`,
    });
    client = new AgentClient({
      url: agent.url,
      fingerprint: agent.fingerprint,
      keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
    });
    await Promise.all(
      [a, b].map((sessionId) =>
        client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume: volumeKey() }),
      ),
    );
    const inspectA = dockerNetworkSide(`clawfleet-${a}`);
    const inspectB = dockerNetworkSide(`clawfleet-${b}`);
    nameA = dockerInspect(`clawfleet-${a}`)?.Name.slice(1);
    ipB = (Object.values(inspectB?.NetworkSettings.Networks ?? {})[0] as { IPAddress: string }).IPAddress;
    gatewayA = (Object.values(inspectA?.NetworkSettings.Networks ?? {})[0] as { Gateway: string }).Gateway;
  });

  afterAll(async () => {
    await agent?.stop();
    if (agent) await cleanupNode(agent.nodeId);
    if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
    // The node's rules are global: leave what every test agent installs (test/helpers/fleet.ts).
    installFirewall(DEFAULT_BLOCKED, undefined, undefined, undefined, [TEST_EGRESS_ALLOW]);
    await blockedFake?.stop();
    await allowedFake?.stop();
    await blockedNs?.stop();
    await allowedNs?.stop();
  });

  test("docker inspect shows the hardened configuration", () => {
    const c = dockerInspect(nameA);
    const h = c?.HostConfig;
    expect(h.CapDrop).toEqual(["ALL"]);
    expect(h.CapAdd ?? []).toEqual([]);
    expect(h.Privileged).toBe(false);
    expect(h.SecurityOpt).toContain("no-new-privileges:true");
    expect((h.SecurityOpt as string[]).some((o) => o.startsWith("seccomp=unconfined"))).toBe(false);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(Object.keys(h.Tmpfs)).toEqual(["/tmp"]);
    expect(h.Memory).toBe(256 * 1024 * 1024);
    expect(h.NanoCpus).toBe(500_000_000);
    expect(h.PidsLimit).toBe(128);
    expect(h.Binds ?? []).toEqual([]);
    // The one host mount: the session's own encrypted volume, mounted by the agent in its data dir.
    expect(c?.Mounts.map((m: { Type: string }) => m.Type)).toEqual(["bind"]);
    expect(c?.Mounts[0].Source).toBe(`${agent.dataDir}/volumes/mnt/${a}/data`);
    expect(c?.Mounts[0].Destination).toBe("/data");
    expect(c?.Mounts[0].Propagation).toBe("rprivate");
    expect(JSON.stringify(c?.Mounts)).not.toContain("docker.sock");
    // Its ports are published by itself or by the sandbox whose namespace it joined: loopback only.
    const side = dockerNetworkSide(nameA);
    for (const bindings of Object.values(side?.HostConfig.PortBindings) as { HostIp: string }[][]) {
      for (const binding of bindings) expect(binding.HostIp).toBe("127.0.0.1");
    }
    const published = Object.values(side?.NetworkSettings.Ports) as { HostIp: string }[][];
    expect(published.flat().length).toBeGreaterThan(0);
    for (const bindings of published) {
      for (const binding of bindings ?? []) expect(binding.HostIp).toBe("127.0.0.1");
    }
    expect(h.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 5 });
    expect(h.LogConfig.Config["max-size"]).toBeString();
    expect(c?.Config.Labels["clawfleet.session"]).toBe(a);
    expect(c?.Config.Labels["clawfleet.node"]).toBe(agent.nodeId);
    expect(c?.Config.User).toBe("1000:1000");
    // One network of its own: its session's, or a warm-pool one (agent/spawn/network_pool.ts) that its
    // label names and that carries no other container.
    const network = c?.Config.Labels["clawfleet.network"];
    expect(network === `clawfleet-net-${a}` || /^clawfleet-pool-p[0-9a-f]{11}$/.test(network)).toBe(true);
    expect(Object.keys(side?.NetworkSettings.Networks)).toEqual([network]);
    const attached = dockerInspect(network)?.Containers ?? {};
    expect(Object.keys(attached)).toEqual([side?.Id]);
    const networkB = dockerInspect(`clawfleet-${b}`)?.Config.Labels["clawfleet.network"];
    expect(networkB).not.toBe(network);
  });

  test("container root is an unprivileged uid on the host (userns-remap); no caps, seccomp, no-new-privs", () => {
    const pid = dockerInspect(nameA)?.State.Pid;
    const status = readFileSync(`/proc/${pid}/status`, "utf8").split("\n");
    const field = (name: string) => (status.find((l) => l.startsWith(`${name}:`)) ?? "").split(/\s+/)[1];
    expect(Number(field("Uid"))).toBeGreaterThanOrEqual(100000);
    // As the kernel sees the container's process: every capability set empty, a seccomp filter
    // (mode 2) installed, and no_new_privs set.
    for (const caps of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"])
      expect(field(caps)).toBe("0000000000000000");
    expect(field("Seccomp")).toBe("2");
    expect(field("NoNewPrivs")).toBe("1");
    // Even root inside (exec -u 0) is an unprivileged uid outside.
    const proc = Bun.spawnSync(["docker", "exec", "-u", "0", nameA, "cat", "/proc/self/uid_map"]);
    expect(proc.stdout.toString().trim().split(/\s+/).slice(0, 2)).toEqual(["0", "100000"]);
  });

  test("inside, as the user and even as container root: no mount, unshare, raw sockets, writes to /, docker.sock", () => {
    for (const user of ["1000", "0"])
      for (const [what, script] of [
        ["mount", "mount -t tmpfs none /mnt"],
        ["unshare", "unshare -r -n true"],
        ["raw socket", "ping -c 1 -W 1 127.0.0.1"],
        ["write to /", "touch /etc/pwned"],
        ["docker.sock", "ls /var/run/docker.sock /run/docker.sock"],
      ] as const) {
        const result = execIn(nameA, script, user);
        expect(`${what} as ${user}: ${result.code === 0 ? "succeeded" : "failed"}`).toBe(
          `${what} as ${user}: failed`,
        );
      }
    expect(execIn(nameA, "touch /tmp/ok && echo fine").out).toContain("fine");
    // Even container root gets no capability, and IPv6 is off in the container's network namespace.
    expect(execIn(nameA, "grep CapEff /proc/self/status", "0").out).toContain("0000000000000000");
    expect(execIn(nameA, "cat /proc/sys/net/ipv6/conf/all/disable_ipv6").out.trim()).toBe("1");
    expect(execIn(nameA, "echo data > /data/x && cat /data/x").out).toContain("data");
  });

  test("no path to another container (while the host reaches it: the block is the firewall's)", async () => {
    const fromHost = await fetch(`http://${ipB}:8080/healthz`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status,
      () => 0,
    );
    expect(fromHost).toBe(200);
    expect(httpFromInside(nameA, ipB, 8080, "/healthz")).not.toContain("200 OK");
    // The same probe from B to itself works, so a failure above is the block and not the probe.
    expect(httpFromInside(`clawfleet-${b}`, "127.0.0.1", 8080, "/healthz")).toContain("200 OK");
  });

  test("no path to the node's own services: the agent port on every address of the node", async () => {
    const nodeAddresses = Bun.spawnSync(["ip", "-4", "-o", "addr", "show"])
      .stdout.toString()
      .split("\n")
      .map((line) => /inet (\d+\.\d+\.\d+\.\d+)\//.exec(line)?.[1])
      .filter((a): a is string => !!a && !a.startsWith("127."));
    expect(nodeAddresses).toContain(gatewayA);
    for (const address of nodeAddresses) {
      // From the node itself the agent answers on each of them, so a failure below is the firewall's.
      const fromHost = await fetch(`https://${address}:${agent.port}/v1/health`, {
        tls: { rejectUnauthorized: false },
        signal: AbortSignal.timeout(3000),
      } as RequestInit).then(
        (r) => r.status,
        () => 0,
      );
      expect(`${address}: ${fromHost}`).toBe(`${address}: 401`);
    }
    const probes = nodeAddresses
      .map((a) => `(nc -w 2 ${a} ${agent.port} </dev/null && echo CONNECTED ${a}) &`)
      .join(" ");
    const result = execIn(nameA, `${probes} wait; echo probed`);
    expect(result.out).toContain("probed");
    expect(result.out).not.toContain("CONNECTED");
  });

  test("a non-public stand-in is unreachable by default, one opened by CLAWFLEET_EGRESS_ALLOW answers", async () => {
    // From the node both answer, so a failure from the container is the firewall's.
    for (const ns of [allowedNs, blockedNs]) {
      const fromHost = await fetch(`http://${ns.address}:8088/v1/models`, {
        signal: AbortSignal.timeout(3000),
      }).then(
        (r) => r.status,
        () => 0,
      );
      expect(fromHost).toBeGreaterThan(0);
    }
    expect(httpFromInside(nameA, allowedNs.address, 8088, "/v1/models")).toContain("HTTP/1.1 ");
    expect(httpFromInside(nameA, blockedNs.address, 8088, "/v1/models")).not.toContain("HTTP/1.1 ");
  });

  test("DNS keeps working: Docker's resolver answers inside the container", () => {
    // A name only Docker's embedded resolver knows: no query leaves the node.
    // (Its own name, or its sandbox's when it joined one: the name attached to the network.)
    const side = dockerNetworkSide(nameA);
    const answer = execIn(nameA, `nslookup -type=a ${side?.Name.slice(1)} 127.0.0.11`);
    const ipA = (Object.values(side?.NetworkSettings.Networks ?? {})[0] as { IPAddress: string }).IPAddress;
    expect(answer.out).toContain(ipA);
  });

  test("IPv6 is refused: no IPv6 address or route in the container, and every IPv6 packet dropped", async () => {
    const addresses = execIn(nameA, "cat /proc/net/if_inet6 2>/dev/null; echo end").out;
    // Only loopback (::1) at most: no global or link-local address to send from.
    expect(addresses.split("\n").filter((l) => l.trim() && l !== "end" && !l.endsWith(" lo"))).toEqual([]);
    const rules = (await client.health()).firewall;
    expect(rules).toContain("ip6 -A CLAWFLEET-FORWARD -i cf-+ -j DROP");
  });

  test("the installed rules drop link-local metadata, other containers and the node for every bridge", async () => {
    const list = (await client.health()).firewall;
    const rules = list.join("\n");
    for (const range of NON_PUBLIC_IPV4) {
      expect(rules).toContain(`-A CLAWFLEET-FORWARD -d ${range} -i cf-+ -j DROP`);
    }
    // The opened stand-in returns before the drops; container-to-container drops come first of all.
    const opened = list.indexOf(`-A CLAWFLEET-FORWARD -d ${allowedNs.address}/32 -i cf-+ -j RETURN`);
    expect(opened).toBeGreaterThan(list.indexOf("-A CLAWFLEET-FORWARD -i cf-+ -o br-+ -j DROP"));
    expect(opened).toBeLessThan(list.indexOf("-A CLAWFLEET-FORWARD -d 198.18.0.0/15 -i cf-+ -j DROP"));
    expect(rules).toContain("-A CLAWFLEET-FORWARD -i cf-+ -o cf-+ -j DROP");
    expect(rules).toContain("-A CLAWFLEET-FORWARD -i cf-+ -o docker0 -j DROP");
    expect(rules).toContain("-A CLAWFLEET-FORWARD -i cf-+ -o br-+ -j DROP");
    expect(rules).toContain("-A CLAWFLEET-INPUT -i cf-+ -j DROP");
    // The node's one opening to containers: the provider gateway's port, on the incoming bridge's own
    // address (test/agent/provider_gateway.test.ts proves another bridge's address stays closed).
    expect(
      rules.split("\n").filter((r) => r.startsWith("-A CLAWFLEET-INPUT") && r.endsWith("-j ACCEPT")),
    ).toEqual([
      "-A CLAWFLEET-INPUT -i cf-+ -p tcp -m tcp --dport 7480 -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT",
    ]);
    expect(rules).toContain("ip6 -A CLAWFLEET-INPUT -i cf-+ -j DROP");
    expect(rules).toContain("ip6 -A CLAWFLEET-FORWARD -i cf-+ -j DROP");
    expect(Bun.spawnSync(["ip6tables", "-S", "FORWARD"]).stdout.toString()).toContain(
      "-A FORWARD -j CLAWFLEET-FORWARD",
    );
    const input = Bun.spawnSync(["iptables", "-S", "INPUT"]).stdout.toString();
    const dockerUser = Bun.spawnSync(["iptables", "-S", "DOCKER-USER"]).stdout.toString();
    expect(input).toContain("-A INPUT -j CLAWFLEET-INPUT");
    expect(dockerUser).toContain("-A DOCKER-USER -j CLAWFLEET-FORWARD");
  });

  test("the health report states the isolation this node enforces", async () => {
    const health = await client.health();
    const info = JSON.parse(
      Bun.spawnSync(["docker", "info", "--format", "{{json .}}"]).stdout.toString(),
    ) as { SecurityOptions: string[]; LiveRestoreEnabled: boolean };
    expect(health.isolation).toEqual({
      usernsRemap: true,
      seccomp: true,
      apparmor: info.SecurityOptions.some((o) => o.includes("apparmor")),
      rootful: false,
      firewall: true,
      encryptedVolumes: true,
    });
    expect(health.liveRestore).toBe(info.LiveRestoreEnabled);
    expect(health.dockerVersion).toMatch(/^\d+\.\d+/);
    expect(health.nodeId).toBe(agent.nodeId);
    expect(health.containers).toBe(2);
  });
});
