// The proof on a real engine: a marker written inside the container is absent from the image's
// raw bytes; df shows the plan's size and a write past it fails with ENOSPC; freeze takes the key out
// of the kernel; restore after an agent restart reads the old data; kill leaves no image, no mount,
// no loop device and no key in the filesystem's keyring.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentClient, AgentRequestError } from "../../../agent/api/client.ts";
import { loadAgentConfig } from "../../../agent/config.ts";
import { type RunningAgent, startAgent } from "../../../agent/server.ts";
import { keyStatus } from "../../../agent/volumes/fscrypt.ts";
import { parseKeyring } from "../../../common/keyring.ts";
import { createLogger } from "../../../common/log.ts";
import {
  agentEnv,
  cleanupNode,
  ensureRuntimeImage,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../../helpers/fleet.ts";

const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 64 };
const bigger = { ...limits, diskMb: 96 };

function execIn(sessionId: string, script: string): { code: number; out: string } {
  const proc = Bun.spawnSync(["docker", "exec", `clawfleet-${sessionId}`, "/bin/sh", "-c", script], {
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: proc.exitCode ?? 1, out: proc.stdout.toString() + proc.stderr.toString() };
}

const sh = (cmd: string[]) => Bun.spawnSync(cmd).stdout.toString();

describe("encrypted, size-limited container volumes", () => {
  const env = agentEnv();
  const dataDir = env.CLAWFLEET_AGENT_DATA_DIR ?? "";
  const logs: string[] = [];
  let agent: RunningAgent;
  let client: AgentClient;
  const sessionId = crypto.randomUUID();
  const volume = volumeKey();
  const marker = `tenant-secret-${crypto.randomUUID()}`;
  const image = join(dataDir, "volumes", `${sessionId}.img`);
  const mountpoint = join(dataDir, "volumes", "mnt", sessionId);

  const start = async () => {
    agent = await startAgent(
      loadAgentConfig(env, []),
      createLogger("debug", {}, (l) => logs.push(l)),
    );
    client = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
  };

  beforeAll(async () => {
    await ensureRuntimeImage();
    await start();
    await client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume });
  });
  afterAll(async () => {
    await agent?.stop();
    await cleanupNode(env.CLAWFLEET_NODE_ID ?? "", dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a spawn without the key is refused on an encrypting node", async () => {
    const error = await client
      .spawn({ sessionId: crypto.randomUUID(), template: "clawfleet-runtime", limits })
      .catch((e) => e);
    expect(error).toBeInstanceOf(AgentRequestError);
    expect((error as AgentRequestError).status).toBe(400);
    expect((error as AgentRequestError).code).toBe("volume_key_required");
    expect((await client.health()).isolation.encryptedVolumes).toBe(true);
  });

  test("a marker written in the container is absent from the image's raw bytes", () => {
    const write = execIn(sessionId, `printf '${marker}%.0s' $(seq 1 200) > /data/diary.txt && sync`);
    expect(write.code).toBe(0);
    // Written as the template's uid 1000, which userns-remap makes the remap's first id + 1000.
    const rootDir = sh(["docker", "info", "--format", "{{.DockerRootDir}}"]).trim();
    const remapUid = Number(/\/(\d+)\.\d+$/.exec(rootDir)?.[1] ?? 0);
    expect(statSync(join(mountpoint, "data")).uid).toBe(remapUid + 1000);
    expect(statSync(join(mountpoint, "data")).mode & 0o777).toBe(0o700);
    expect(execIn(sessionId, "cat /data/diary.txt").out).toContain(marker);
    // A control written into the same filesystem outside the encrypted directory, from the host:
    // it must show up, or the scan proves nothing.
    const control = `host-control-${crypto.randomUUID()}`;
    writeFileSync(join(mountpoint, "control.txt"), control);
    expect(Bun.spawnSync(["sync"]).exitCode).toBe(0);
    const raw = readFileSync(image);
    expect(raw.includes(control)).toBe(true);
    expect(raw.includes(marker)).toBe(false);
    expect(raw.includes("diary.txt")).toBe(false);
    rmSync(join(mountpoint, "control.txt"));
  });

  test("df shows the plan's size; a write past it fails with ENOSPC and nothing else fills", () => {
    const df = execIn(sessionId, "df -k /data").out.trim().split("\n").at(-1)?.split(/\s+/) ?? [];
    expect(Number(df[1])).toBe(limits.diskMb * 1024);
    const flood = execIn(sessionId, "dd if=/dev/zero of=/data/flood bs=1M count=200 2>&1; echo exit=$?");
    expect(flood.out).toContain("No space left on device");
    expect(flood.out).not.toContain("exit=0");
    // The image did not grow past the plan: the node's disk only ever held what was preallocated.
    expect(Bun.file(image).size).toBe(limits.diskMb * 1024 * 1024);
    // /tmp (tmpfs) and the rest of the container still work; freeing space makes /data writable again.
    expect(execIn(sessionId, "echo ok > /tmp/ok && cat /tmp/ok").out.trim()).toBe("ok");
    expect(
      execIn(sessionId, "rm /data/flood && echo again > /data/after && cat /data/after").out.trim(),
    ).toBe("again");
  });

  test("freeze takes the key out of the kernel: only files the paused processes hold stay readable", async () => {
    // docs/AGENT.md: the kernel keeps the per-file keys of inodes in use. A process holding a file
    // open across the freeze shows exactly that; a file nobody holds becomes unreadable.
    expect(execIn(sessionId, "echo held-open > /data/held.txt").code).toBe(0);
    Bun.spawnSync([
      "docker",
      "exec",
      "-d",
      `clawfleet-${sessionId}`,
      "/bin/sh",
      "-c",
      "exec 3</data/held.txt; exec sleep 600",
    ]);
    await Bun.sleep(300);
    await client.freeze(sessionId);
    const identifier = agent.manager.volumes.identifier(sessionId);
    if (!identifier) throw new Error("no identifier");
    expect(keyStatus(mountpoint, identifier)).toBe("incompletely_removed");
    expect(() => readFileSync(join(mountpoint, "data", "diary.txt"))).toThrow();
    expect(readFileSync(join(mountpoint, "data", "held.txt"), "utf8")).toBe("held-open\n");
  });

  test("restore after an agent restart needs the key and reads the old data", async () => {
    await agent.stop();
    await start();
    const without = await client.restore(sessionId).catch((e) => e);
    expect((without as AgentRequestError).code).toBe("volume_key_required");
    await client.restore(sessionId, { volume });
    expect(execIn(sessionId, "cat /data/diary.txt").out).toContain(marker);
  });

  test("a bigger plan grows the running container's volume online, or at the next attach", async () => {
    const bad = await client.growVolume(sessionId, 10).catch((e) => e);
    expect((bad as AgentRequestError).status).toBe(400);
    const info = await client.growVolume(sessionId, bigger.diskMb);
    const size = () =>
      Number(execIn(sessionId, "df -k /data").out.trim().split("\n").at(-1)?.split(/\s+/)[1]);
    // The kernel resizes a mounted ext4 only for a process with CAP_SYS_RESOURCE (which some
    // sandboxes withhold even from root); without it the agent says so once and grows it offline
    // at the next attach (the reboot test below checks that it does).
    const capEff = BigInt(
      `0x${/CapEff:\s+([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]}`,
    );
    if ((capEff >> 24n) & 1n) {
      expect(size()).toBe(bigger.diskMb * 1024);
      expect(info.volumeMb).toBe(bigger.diskMb);
    } else {
      expect(size()).toBe(limits.diskMb * 1024);
      expect(info.volumeMb).toBe(limits.diskMb);
      expect(logs.filter((l) => l.includes("online volume growth failed"))).toHaveLength(1);
      await client.growVolume(sessionId, bigger.diskMb);
      expect(logs.filter((l) => l.includes("online volume growth failed"))).toHaveLength(1);
    }
    expect(execIn(sessionId, "cat /data/diary.txt").out).toContain(marker);
  });

  test("after a node reboot (container gone, volume detached) a spawn re-attaches the old data", async () => {
    Bun.spawnSync(["docker", "rm", "-f", `clawfleet-${sessionId}`]);
    await agent.stop();
    await agent.manager.volumes.detach(sessionId);
    expect(existsSync(mountpoint)).toBe(false);
    await start();
    // The old, smaller limits: a volume never shrinks, and a growth the kernel refused online is
    // finished here, offline, from the image's size.
    await client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume });
    expect(execIn(sessionId, "cat /data/diary.txt").out).toContain(marker);
    const df = execIn(sessionId, "df -k /data").out.trim().split("\n").at(-1)?.split(/\s+/) ?? [];
    expect(Number(df[1])).toBe(bigger.diskMb * 1024);
    const wrong = await client.restore(sessionId, { volume: volumeKey() }).catch((e) => e);
    expect((wrong as AgentRequestError).code).toBe("volume_key_mismatch");
    // The right key stayed in: the running container still reads its data.
    expect(execIn(sessionId, "cat /data/diary.txt").out).toContain(marker);
  });

  test("kill removes the key first, then the container, the image, the mount and the loop device", async () => {
    const device = sh(["losetup", "--noheadings", "--output", "NAME", "--associated", image]).trim();
    const identifier = agent.manager.volumes.identifier(sessionId);
    if (!device || !identifier) throw new Error("volume not attached");
    // A second mount of the same device shares the filesystem (and its keyring): it outlives the
    // agent's unmount, so the test can still ask the kernel whether the key is there.
    const witness = join(dataDir, "witness");
    mkdirSync(witness);
    expect(Bun.spawnSync(["mount", device, witness]).exitCode).toBe(0);
    try {
      await client.remove(sessionId);
      expect(keyStatus(witness, identifier)).toBe("absent");
      expect(() => readFileSync(join(witness, "data", "diary.txt"))).toThrow();
    } finally {
      Bun.spawnSync(["umount", witness]);
      rmdirSync(witness);
    }
    expect(existsSync(image)).toBe(false);
    expect(existsSync(mountpoint)).toBe(false);
    expect(sh(["losetup", "--list", "--noheadings", "--output", "BACK-FILE"])).not.toContain(image);
    expect(sh(["docker", "ps", "-aq", "--filter", `label=clawfleet.session=${sessionId}`]).trim()).toBe("");
    expect(logs.join("\n")).not.toContain(volume.key);
  });
});
