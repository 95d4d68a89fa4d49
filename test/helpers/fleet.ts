// Real agents for tests: in-process (startAgent) or as a separate process, each with its own node id,
// data dir and cluster secret; plus the runtime image they run.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadAgentConfig } from "../../agent/config.ts";
import { type RunningAgent, startAgent } from "../../agent/server.ts";
import { VolumeManager } from "../../agent/volumes/volumes.ts";
import { createLogger } from "../../common/log.ts";
import { keepAndSurface } from "./log_sink.ts";
import { tempDir } from "./process.ts";

const root = join(import.meta.dir, "../..");
export const TEST_EGRESS_ALLOW = "198.18.0.0/15";
export const TEST_CLUSTER_SECRET = `test:${"s".repeat(16)}${crypto.randomUUID()}`;

let imageBuilt: Promise<void> | null = null;
/** Builds clawfleet-runtime:<version> once per test process (a no-op when it is up to date). */
export function ensureRuntimeImage(): Promise<void> {
  imageBuilt ??= (async () => {
    const proc = Bun.spawn([process.execPath, "scripts/image_runtime.ts"], {
      cwd: root,
      stdout: "ignore",
      stderr: "pipe",
    });
    if ((await proc.exited) !== 0)
      throw new Error(`runtime image build failed: ${await new Response(proc.stderr).text()}`);
  })();
  return imageBuilt;
}

/** A fresh volume key, as the server would send it with a spawn or restore. */
export function volumeKey(): { key: string } {
  return { key: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64") };
}

/** Each test agent's data dir by node id, so cleanupNode can find volumes no container points at. */
const dataDirs = new Map<string, string>();

export function agentEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
    CLAWFLEET_AGENT_LISTEN: "127.0.0.1:0",
    CLAWFLEET_AGENT_DATA_DIR: tempDir("cf-agent"),
    CLAWFLEET_NODE_ID: `test-${crypto.randomUUID().slice(0, 8)}`,
    // The fake providers of end-to-end tests live in 198.18.0.0/15 (test/helpers/netns.ts), a range
    // the agent blocks by default: tests open it the way an operator opens an internal mirror.
    CLAWFLEET_EGRESS_ALLOW: TEST_EGRESS_ALLOW,
    // One warm network and volume image, not the default two: tests start many agents.
    CLAWFLEET_AGENT_WARM_POOL: "1",
    ...extra,
  };
  dataDirs.set(env.CLAWFLEET_NODE_ID ?? "", env.CLAWFLEET_AGENT_DATA_DIR ?? "");
  return env;
}

export async function startTestAgent(
  extra: Record<string, string> = {},
  logs: string[] = [],
): Promise<RunningAgent> {
  const config = loadAgentConfig(agentEnv(extra), []);
  return startAgent(config, createLogger("debug", { service: "agent" }, keepAndSurface(logs, "test agent")));
}

/**
 * Removes every container, volume and network a test agent's node created; with `dataDir`, also the
 * encrypted volumes it mounted there (unmounted and detached, so no loop device is left behind).
 */
export async function cleanupNode(nodeId: string, dataDir?: string): Promise<void> {
  const filter = `label=clawfleet.node=${nodeId}`;
  const ids = (cmd: string[]) => Bun.spawnSync(cmd).stdout.toString().split("\n").filter(Boolean);
  const containers = ids(["docker", "ps", "-aq", "--filter", filter]);
  // Each container's one bind mount is <data dir>/volumes/mnt/<session>/data: where its volume lives.
  const known = dataDir ?? dataDirs.get(nodeId);
  const roots = new Set(known ? [join(known, "volumes")] : []);
  for (const id of containers)
    for (const m of (dockerInspect(id)?.Mounts ?? []) as { Type: string; Source: string }[]) {
      const match = /^(.*\/volumes)\/mnt\/[^/]+\/data$/.exec(m.Source);
      if (m.Type === "bind" && match?.[1]) roots.add(match[1]);
    }
  if (containers.length) Bun.spawnSync(["docker", "rm", "-f", "-v", ...containers]);
  const volumes = ids(["docker", "volume", "ls", "-q", "--filter", filter]);
  if (volumes.length) Bun.spawnSync(["docker", "volume", "rm", "-f", ...volumes]);
  const networks = ids(["docker", "network", "ls", "-q", "--filter", filter]);
  if (networks.length) Bun.spawnSync(["docker", "network", "rm", ...networks]);
  for (const root of roots) await destroyVolumes(root);
}

/** Unmounts, detaches and deletes every volume image under `root` (a test agent's data dir/volumes). */
export async function destroyVolumes(root: string) {
  if (!existsSync(root)) return;
  const volumes = new VolumeManager(root, true);
  const ids = new Set([
    ...readdirSync(root)
      .filter((n) => n.endsWith(".img"))
      .map((n) => n.slice(0, -4)),
    ...readdirSync(join(root, "mnt")),
  ]);
  for (const id of ids) await volumes.destroy(id).catch(() => {});
}

export function dockerInspect(name: string): Record<string, any> | null {
  const proc = Bun.spawnSync(["docker", "inspect", name]);
  if (proc.exitCode !== 0) return null;
  return (JSON.parse(proc.stdout.toString()) as Record<string, any>[])[0] ?? null;
}

/**
 * The inspect that shows a container's addresses and published ports: the sandbox whose network
 * namespace it joined (`container:<id>`, agent/spawn/sandboxes.ts), else the container's own.
 */
export function dockerNetworkSide(name: string): Record<string, any> | null {
  const inspect = dockerInspect(name);
  const mode = String(inspect?.HostConfig?.NetworkMode ?? "");
  return mode.startsWith("container:") ? dockerInspect(mode.slice("container:".length)) : inspect;
}

export function dockerLeftovers(sessionId: string) {
  const filter = `label=clawfleet.session=${sessionId}`;
  const list = (cmd: string[]) => Bun.spawnSync(cmd).stdout.toString().split("\n").filter(Boolean);
  return {
    containers: list(["docker", "ps", "-aq", "--filter", filter]),
    volumes: list(["docker", "volume", "ls", "-q", "--filter", filter]),
    networks: list(["docker", "network", "ls", "-q", "--filter", filter]),
  };
}
