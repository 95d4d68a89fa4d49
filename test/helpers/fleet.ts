// Real agents for tests: in-process (startAgent) or as a separate process, each with its own node id,
// data dir and cluster secret; plus the runtime image they run.
import { join } from "node:path";
import { loadAgentConfig } from "../../agent/config.ts";
import { type RunningAgent, startAgent } from "../../agent/server.ts";
import { createLogger } from "../../common/log.ts";
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

export function agentEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
    CLAWFLEET_AGENT_LISTEN: "127.0.0.1:0",
    CLAWFLEET_AGENT_DATA_DIR: tempDir("cf-agent"),
    CLAWFLEET_NODE_ID: `test-${crypto.randomUUID().slice(0, 8)}`,
    // The fake providers of end-to-end tests live in 198.18.0.0/15 (test/helpers/netns.ts), a range
    // the agent blocks by default: tests open it the way an operator opens an internal mirror.
    CLAWFLEET_EGRESS_ALLOW: TEST_EGRESS_ALLOW,
    ...extra,
  };
}

export async function startTestAgent(
  extra: Record<string, string> = {},
  logs: string[] = [],
): Promise<RunningAgent> {
  const config = loadAgentConfig(agentEnv(extra), []);
  return startAgent(
    config,
    createLogger("debug", { service: "agent" }, (line) => logs.push(line)),
  );
}

/** Removes every container, volume and network a test agent's node created. */
export async function cleanupNode(nodeId: string): Promise<void> {
  const filter = `label=clawfleet.node=${nodeId}`;
  const ids = (cmd: string[]) => Bun.spawnSync(cmd).stdout.toString().split("\n").filter(Boolean);
  const containers = ids(["docker", "ps", "-aq", "--filter", filter]);
  if (containers.length) Bun.spawnSync(["docker", "rm", "-f", "-v", ...containers]);
  const volumes = ids(["docker", "volume", "ls", "-q", "--filter", filter]);
  if (volumes.length) Bun.spawnSync(["docker", "volume", "rm", "-f", ...volumes]);
  const networks = ids(["docker", "network", "ls", "-q", "--filter", filter]);
  if (networks.length) Bun.spawnSync(["docker", "network", "rm", ...networks]);
}

export function dockerInspect(name: string): Record<string, any> | null {
  const proc = Bun.spawnSync(["docker", "inspect", name]);
  if (proc.exitCode !== 0) return null;
  return (JSON.parse(proc.stdout.toString()) as Record<string, any>[])[0] ?? null;
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
