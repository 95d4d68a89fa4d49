// A hostile tenant: a static program (test/agent/hostile/tenant.c) run inside a user's container tries
// the escapes and lateral moves a real attacker would. Every one must fail, and the node must stay
// healthy. The metadata address is never contacted: its block is read from the installed rules.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { AgentClient } from "../../agent/api/client.ts";
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
import { tempDir } from "../helpers/process.ts";

const ATTEMPTS = [
  "mount",
  "unshare_user",
  "unshare_net",
  "ptrace_host_process",
  "kill_host_process",
  "keyctl",
  "add_key",
  "request_key",
  "io_uring_setup",
  "userfaultfd",
  "perf_event_open",
  "ptrace_own_child",
  "process_vm_readv",
  "raise_nofile",
  "open_files_past_limit",
  "bpf",
  "raw_socket",
  "packet_socket",
  "setuid_root",
  "chroot",
  "swapon",
  "reboot",
  "init_module",
  "write_sysrq",
  "write_proc_sys",
  "write_sys",
  "write_cgroup",
  "docker_sock",
  "write_root",
  "other_container",
  "agent_port",
  "node_ssh",
  "fork_bomb",
  "memory_exhaustion",
];

describe("a hostile tenant", () => {
  let agent: RunningAgent;
  let client: AgentClient;
  const attacker = crypto.randomUUID();
  const neighbour = crypto.randomUUID();
  let output = "";
  let binaryDir = "";

  beforeAll(async () => {
    binaryDir = tempDir("cf-hostile");
    const binary = join(binaryDir, "tenant");
    const build = Bun.spawnSync(
      ["gcc", "-static", "-O1", "-o", binary, join(import.meta.dir, "hostile/tenant.c")],
      { stderr: "pipe" },
    );
    if (build.exitCode !== 0) throw new Error(build.stderr.toString());
    await ensureRuntimeImage();
    agent = await startTestAgent({ CLAWFLEET_AGENT_LISTEN: "0.0.0.0:0" });
    client = new AgentClient({
      url: agent.url,
      fingerprint: agent.fingerprint,
      keys: parseKeyring("K", TEST_CLUSTER_SECRET, "secret"),
    });
    const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 };
    await Promise.all(
      [attacker, neighbour].map((sessionId) =>
        client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume: volumeKey() }),
      ),
    );
    const name = `clawfleet-${attacker}`;
    const copy = Bun.spawnSync(
      ["docker", "exec", "-i", name, "sh", "-c", "cat > /data/tenant && chmod 755 /data/tenant"],
      {
        stdin: Bun.file(binary),
      },
    );
    if (copy.exitCode !== 0) throw new Error(copy.stderr.toString());
    const attackerNet = Object.values(dockerNetworkSide(name)?.NetworkSettings.Networks ?? {})[0] as {
      Gateway: string;
    };
    const neighbourNet = Object.values(
      dockerNetworkSide(`clawfleet-${neighbour}`)?.NetworkSettings.Networks ?? {},
    )[0] as {
      IPAddress: string;
    };
    const run = Bun.spawnSync(
      [
        "docker",
        "exec",
        name,
        "/data/tenant",
        neighbourNet.IPAddress,
        "8080",
        attackerNet.Gateway,
        String(agent.port),
        Bun.spawnSync(["pgrep", "-o", "dockerd"]).stdout.toString().trim(),
      ],
      { stdout: "pipe", stderr: "pipe", timeout: 120_000 },
    );
    output = run.stdout.toString();
  });

  afterAll(async () => {
    await agent?.stop();
    if (agent) await cleanupNode(agent.nodeId);
    if (agent) rmSync(agent.dataDir, { recursive: true, force: true });
    if (binaryDir) rmSync(binaryDir, { recursive: true, force: true });
  });

  for (const attempt of ATTEMPTS) {
    test(`${attempt} fails`, () => {
      const line = output.split("\n").find((l) => l.startsWith(`${attempt} `)) ?? `${attempt} MISSING`;
      expect(line).toMatch(new RegExp(`^${attempt} BLOCKED`));
    });
  }

  test("the pids limit stopped the fork bomb early, and nothing was allowed", () => {
    const forks = Number(/forks_before_limit (\d+)/.exec(output)?.[1]);
    expect(forks).toBeGreaterThan(0);
    expect(forks).toBeLessThan(128);
    expect(output).toContain("allowed 0");
  });

  test("seccomp refusals are EPERM from the profile, and the ulimits are the agent's", () => {
    for (const attempt of [
      "io_uring_setup",
      "userfaultfd",
      "perf_event_open",
      "ptrace_own_child",
      "add_key",
    ]) {
      expect(output).toContain(`${attempt} BLOCKED Operation not permitted`);
    }
    expect(output).toContain("nofile 4096 4096");
    expect(output).toContain("nproc 128 128");
    const opened = Number(/files_opened (\d+)/.exec(output)?.[1]);
    expect(opened).toBeGreaterThan(4000);
    expect(opened).toBeLessThan(4096);
    const opts = dockerInspect(`clawfleet-${attacker}`)?.HostConfig.SecurityOpt as string[];
    const profile = JSON.parse(opts.find((o) => o.startsWith("seccomp="))?.slice(8) ?? "{}");
    expect(profile.defaultAction).toBe("SCMP_ACT_ERRNO");
  });

  test("the node stays healthy: the agent answers and the neighbour is untouched", async () => {
    const health = await client.health();
    expect(health.nodeId).toBe(agent.nodeId);
    const neighbourInfo = await client.get(neighbour);
    expect(neighbourInfo?.status).toBe("ready");
    const port = Number(
      dockerNetworkSide(`clawfleet-${neighbour}`)?.NetworkSettings.Ports["8080/tcp"][0].HostPort,
    );
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(health.firewall.join("\n")).toContain("-d 169.254.0.0/16 -i cf-+ -j DROP");
  });
});
